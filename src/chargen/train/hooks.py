"""Optional side effects of training: batch progress, TensorBoard scalars, periodic samples.

Kept out of train.py so the training loop reads top to bottom; each hook is off by default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from chargen.data.prepared import Prepared, read_ids
from chargen.errors import UsageProblem
from chargen.train.report import Tracker

log = logging.getLogger("chargen.train")

SAMPLE_TEMPERATURES = (0.2, 0.5, 1.0)
SAMPLE_LENGTH = 200
TENSORBOARD_DIR = "tensorboard"


@dataclass(frozen=True)
class Hooks:
    """Optional observers: per-batch progress, TensorBoard scalars, periodic samples."""

    on_batch: Callable[[Any], None] | None = None
    board: Any = None  # TensorBoardWriter
    sample_every: int = 0

    def observe(self, row: dict[str, Any], model: Any, prepared: Prepared) -> None:
        """Epoch-end extras that never affect training: TensorBoard and sample text."""
        if self.board is not None:
            self.board.write(SimpleNamespace(**row), model)
        if self.sample_every and row["epoch"] % self.sample_every == 0:
            seed_text = prepared.vocab.decode(read_ids(prepared.path, "val")[:20])
            log_samples(model, prepared.vocab, seed_text, row["epoch"])


def batch_callback(tracker: Tracker, epoch: int, skip: int = 0) -> Any:
    """A Keras callback feeding `tracker` after every batch of `fit` (epoch is 1-based; `fit`
    counts from 0 in a resumed epoch that already trained `skip` batches)."""
    import keras

    class _Hook(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            tracker.start_epoch(skip)

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            loss = float((logs or {}).get("loss", float("nan")))
            tracker.batch_done(epoch, skip + batch + 1, loss)

    return _Hook()


class TensorBoardWriter:
    """Per-epoch scalars (losses in nats, val bits/char, chars/s) and weight histograms.

    Histograms of every trainable variable (tag: its Keras path, e.g. `lstm/lstm_cell/kernel`)
    show saturating gates or exploding weights that a loss curve hides; they are written once
    per epoch, so their cost is negligible next to training.

    Written with tf.summary directly rather than Keras' TensorBoard callback, so stateful
    training (which does not go through `fit`) logs the same way.
    """

    def __init__(self, run_path: Path) -> None:
        import importlib.util

        import tensorflow as tf

        if importlib.util.find_spec("tensorboard") is None:
            raise UsageProblem(
                "--tensorboard needs the tensorboard package: pip install 'chargen[tensorboard]'"
            )

        self.path = run_path / TENSORBOARD_DIR
        self._writer = tf.summary.create_file_writer(str(self.path))

    def write(self, stats: Any, model: Any = None) -> None:
        import tensorflow as tf

        with self._writer.as_default():
            for name in ("train_loss", "val_loss", "val_bpc", "chars_per_s"):
                tf.summary.scalar(name, getattr(stats, name), step=stats.epoch)
            for weight in model.trainable_weights if model is not None else ():
                tf.summary.histogram(weight.path, weight.value, step=stats.epoch)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def log_samples(
    model: Any,
    vocab: Any,
    seed_text: str,
    epoch: int,
    *,
    temperatures: Sequence[float] = SAMPLE_TEMPERATURES,
    length: int = SAMPLE_LENGTH,
    rng_seed: int = 0,
) -> dict[float, str]:
    """Generate from the model being trained and write each sample to the log (train.log).

    Not XLA-compiled: a compile per epoch would cost more than the sample.
    """
    from chargen.generation.sampler import Sampler
    from chargen.generation.strategy import Strategy

    sampler = Sampler(model, vocab, jit_compile=False)
    texts = {}
    for t in temperatures:
        strategy = Strategy(temperature=t)
        texts[t] = sampler.generate(seed_text, length, strategy, rng_seed=rng_seed)[0]
        log.info("sample after epoch %d, temperature %g:\n%s%s", epoch, t, seed_text, texts[t])
    return texts
