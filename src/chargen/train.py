"""Training: fit epoch by epoch on tf.data windows, keeping best/last weights and metrics."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from chargen import __version__
from chargen.accel import shard
from chargen.config import Config
from chargen.dataset import Prepared, check_fits, count_windows, make_dataset, steps_per_epoch
from chargen.errors import ConfigError
from chargen.files import atomic_path, write_text_atomic
from chargen.progress import Progress, Tracker
from chargen.runs import RunDir
from chargen.train_hooks import TensorBoardWriter, batch_callback, log_samples

log = logging.getLogger(__name__)
LN2 = math.log(2.0)


@dataclass(frozen=True)
class EpochStats:
    """One row of metrics.csv: losses in nats per character, bits per character, speed."""

    epoch: int
    train_loss: float
    val_loss: float
    val_bpc: float
    chars_per_s: float
    seconds: float


METRIC_FIELDS = [f.name for f in fields(EpochStats)]


@dataclass(frozen=True)
class TrainResult:
    run: RunDir
    history: list[EpochStats]

    @property
    def best(self) -> EpochStats:
        return min(self.history, key=lambda s: s.val_loss)


def config_for_data(config: Config, prepared: Prepared, given: Mapping[str, Any]) -> Config:
    """Config keys that describe the prepared data are taken from it, so config.json is true.

    A flag that contradicts the prepared file (`--lowercase` on a cased file) is an error,
    not silently ignored.
    """
    norm = json.loads(str(prepared.attrs.get("normalisation", "{}")))
    actual = {
        "lowercase": bool(norm.get("lowercase", False)),
        "val_fraction": float(prepared.attrs.get("val_fraction", config.val_fraction)),
    }
    for key, value in actual.items():
        if given.get(key) is not None and given[key] != value:
            raise ConfigError(
                f"--{key.replace('_', '-')} {given[key]} contradicts {prepared.path} "
                f"({key} = {value}); prepare the corpus again or use --corpus"
            )
    return config.replace(**actual)


def write_run_header(run: RunDir, config: Config, prepared: Prepared) -> None:
    """Everything sampling needs besides weights: resolved config, vocabulary, provenance."""
    write_text_atomic(run.config, config.to_json())
    prepared.vocab.save(run.vocab)
    meta = {
        "chargen_version": __version__,
        "prepared": str(prepared.path),
        "source_sha256": prepared.sha256,
        "sources": json.loads(str(prepared.attrs.get("sources", "[]"))),
        "sizes": prepared.sizes,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_text_atomic(run.meta, json.dumps(meta, indent=2) + "\n")


def write_metrics(run: RunDir, history: list[EpochStats]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(v) for k, v in asdict(row).items()})
    write_text_atomic(run.metrics, buf.getvalue())


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def train(
    config: Config,
    prepared: Prepared,
    run: RunDir,
    *,
    on_epoch: Callable[[EpochStats], None] | None = None,
    on_batch: Callable[[Progress], None] | None = None,
    tensorboard: bool = False,
    sample_every: int = 0,
    distribute: str | None = None,
    mixed_precision: str | None = None,
) -> TrainResult:
    """Train a fresh model from `config` on `prepared`, writing everything into `run`.

    `on_batch` receives progress after every batch; `tensorboard` writes scalars to
    run/tensorboard; `sample_every` N logs samples at a few temperatures every N epochs.
    `distribute` (mirrored, multi-worker) splits each global batch of `config.batch_size`
    across replicas; `mixed_precision` (float16, bfloat16) sets the compute dtype.
    """
    import keras

    from chargen.accel import make_strategy, precision
    from chargen.model import build_model, compile_model

    check_fits(prepared, config.seq_len)
    if config.stateful:
        from chargen.streams import check_streams

        check_streams(prepared.sizes["train"], config.seq_len, config.batch_size)
    seed = config.rng_seed if config.rng_seed is not None else 0
    keras.utils.set_random_seed(seed)
    write_run_header(run, config, prepared)
    handler = _attach_log(run)
    strategy = make_strategy(distribute)
    try:
        with precision(mixed_precision), strategy.scope():
            model = build_model(
                **model_kwargs(config, len(prepared.vocab)),
                stateful_batch=config.batch_size if config.stateful else None,
            )
            compile_model(
                model,
                learning_rate=config.learning_rate,
                clip_norm=config.clip_norm,
                jit_compile=_jit(config.jit_compile),
            )
        steps = steps_per_epoch(prepared.sizes["train"], config.seq_len, config.batch_size)
        if config.stateful:
            from chargen.streams import stream_layout

            steps = stream_layout(prepared.sizes["train"], config.seq_len, config.batch_size)[1]
        if config.steps_per_epoch is not None:
            steps = min(steps, config.steps_per_epoch)
        log.info(
            "training %s parameters, %d steps per epoch of %d x %d characters",
            f"{model.count_params():,}",
            steps,
            config.batch_size,
            config.seq_len,
        )
        history: list[EpochStats] = []
        best = math.inf
        tracker = None
        if on_batch is not None:
            chars = config.batch_size * config.seq_len
            tracker = Tracker(on_batch, epochs=config.epochs, steps=steps, chars_per_step=chars)
        board = TensorBoardWriter(run.path) if tensorboard else None
        for epoch in range(config.epochs):
            if config.stateful:
                stats = _run_stateful_epoch(model, config, prepared, epoch, steps, tracker)
            else:
                stats = _run_epoch(model, config, prepared, epoch, steps, seed, tracker)
            history.append(stats)
            if board is not None:
                board.write(stats)
            if sample_every and stats.epoch % sample_every == 0:
                log_samples(model, prepared.vocab, _sample_seed(prepared), stats.epoch)
            with atomic_path(run.last_weights) as tmp:
                model.save_weights(tmp)
            if stats.val_loss < best:
                best = stats.val_loss
                with atomic_path(run.best_weights) as tmp:
                    model.save_weights(tmp)
            write_metrics(run, history)
            log.info(
                "epoch %d: train_loss %.4f val_loss %.4f val_bpc %.4f %.0f chars/s %.1fs",
                stats.epoch,
                stats.train_loss,
                stats.val_loss,
                stats.val_bpc,
                stats.chars_per_s,
                stats.seconds,
            )
            if on_epoch is not None:
                on_epoch(stats)
        if board is not None:
            board.close()
        return TrainResult(run, history)
    finally:
        logging.getLogger("chargen").removeHandler(handler)
        handler.close()


def _sample_seed(prepared: Prepared, length: int = 20) -> str:
    """The start of the validation text: a prime the model has not trained on."""
    from chargen.dataset import read_ids

    return prepared.vocab.decode(read_ids(prepared.path, "val")[:length])


def model_kwargs(config: Config, vocab_size: int) -> dict[str, Any]:
    """The `build_model` arguments a config implies (everything but statefulness)."""
    return {
        "vocab_size": vocab_size,
        "embedding_dim": config.embedding_dim,
        "units": config.units,
        "layers": config.layers,
        "dropout": config.dropout,
        "layer_units": config.layer_units,
        "cell": config.cell,
        "layer_norm": config.layer_norm,
    }


def _run_stateful_epoch(
    model: Any,
    config: Config,
    prepared: Prepared,
    epoch: int,
    steps: int,
    tracker: Tracker | None = None,
) -> EpochStats:
    """Train on streams with carried state; validate the same way on the val streams."""
    from chargen.model import build_model, compile_model
    from chargen.streams import evaluate_stateful, run_stateful_epoch

    train_loss, seconds, chars = run_stateful_epoch(
        model,
        prepared.path,
        seq_len=config.seq_len,
        batch_size=config.batch_size,
        epoch=epoch,
        steps=steps,
        tracker=tracker,
    )

    def twin(streams: int) -> Any:
        other = build_model(**model_kwargs(config, len(prepared.vocab)), stateful_batch=streams)
        compile_model(other, learning_rate=config.learning_rate, clip_norm=config.clip_norm)
        other.set_weights(model.get_weights())
        return other

    val_loss = evaluate_stateful(
        twin, prepared.path, seq_len=config.seq_len, batch_size=config.batch_size
    )
    return EpochStats(
        epoch=epoch + 1,
        train_loss=train_loss,
        val_loss=val_loss,
        val_bpc=val_loss / LN2,
        chars_per_s=chars / seconds if seconds > 0 else 0.0,
        seconds=seconds,
    )


def _run_epoch(
    model: Any,
    config: Config,
    prepared: Prepared,
    epoch: int,
    steps: int,
    seed: int,
    tracker: Tracker | None = None,
) -> EpochStats:
    train_ds = make_dataset(
        prepared.path,
        "train",
        config.seq_len,
        config.batch_size,
        shuffle=True,
        seed=seed,
        epoch=epoch,
    )
    start = time.perf_counter()
    hooks = [] if tracker is None else [batch_callback(tracker, epoch + 1)]
    fit = model.fit(
        shard(train_ds.take(steps)), epochs=1, shuffle=False, verbose=0, callbacks=hooks
    )
    seconds = time.perf_counter() - start
    val_ds = make_dataset(
        prepared.path,
        "val",
        config.seq_len,
        config.batch_size,
        shuffle=False,
        drop_remainder=False,
    )
    val_loss = float(model.evaluate(shard(val_ds), verbose=0, return_dict=True)["loss"])
    batch = min(config.batch_size, count_windows(prepared.sizes["train"], config.seq_len))
    chars = steps * batch * config.seq_len
    return EpochStats(
        epoch=epoch + 1,
        train_loss=float(fit.history["loss"][-1]),
        val_loss=val_loss,
        val_bpc=val_loss / LN2,
        chars_per_s=chars / seconds if seconds > 0 else 0.0,
        seconds=seconds,
    )


def _jit(wanted: bool) -> bool | str:
    """XLA when asked for on a CPU; on a GPU Keras decides, since cuDNN kernels cannot be
    compiled by XLA."""
    from chargen.fast_lstm import gpu_available

    return "auto" if gpu_available() else wanted


def _attach_log(run: RunDir) -> logging.Handler:
    handler = logging.FileHandler(run.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("chargen")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
