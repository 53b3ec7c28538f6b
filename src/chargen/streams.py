"""Stream-ordered batches for stateful (char-rnn style) training.

The split is cut into `batch_size` contiguous streams; batch t holds window t of every stream,
so row b of batch t+1 continues row b of batch t exactly. A stateful LSTM can then carry its
state across batches and learn dependencies longer than `seq_len` at the same cost per step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.dataset import read_ids, split_size
from chargen.errors import CorpusError


def stream_layout(n_ids: int, seq_len: int, batch_size: int) -> tuple[int, int]:
    """(characters per stream, batches per epoch) for `batch_size` streams over `n_ids` ids."""
    per_stream = (n_ids - 1) // batch_size
    return per_stream, per_stream // seq_len


def check_streams(n_ids: int, seq_len: int, batch_size: int) -> None:
    """Stateful training needs every one of `batch_size` streams to hold a whole window."""
    if stream_layout(n_ids, seq_len, batch_size)[1] < 1:
        raise CorpusError(
            f"the train split ({n_ids} characters) is too short for {batch_size} streams "
            f"of seq_len {seq_len}; lower --batch-size or --seq-len"
        )


def iter_stream_batches(
    path: Path, split: str, seq_len: int, batch_size: int, *, offset: int = 0
) -> Iterator[npt.NDArray[np.int32]]:
    """Batches (batch_size, seq_len + 1) where row b of each batch continues row b of the last.

    `offset` (< seq_len) shifts every stream's start, so window boundaries move between epochs
    without breaking continuity. The split is read whole: ids are one byte per character.
    """
    ids = read_ids(path, split)[offset:]  # no h5py object in this generator's frame (dataset._read)
    per_stream, batches = stream_layout(len(ids), seq_len, batch_size)
    if batches < 1:
        raise CorpusError(
            f"the {split} split ({len(ids)} characters) is too short for {batch_size} streams "
            f"of seq_len {seq_len}; lower --batch-size or --seq-len"
        )
    starts = np.arange(batch_size) * per_stream
    for t in range(batches):
        cols = starts[:, None] + t * seq_len + np.arange(seq_len + 1)[None, :]
        yield ids[cols]


def reset_states(model: Any) -> None:
    from chargen.model import recurrent_layers

    for layer in recurrent_layers(model):
        layer.reset_states()


def run_stateful_epoch(
    model: Any,
    path: Path,
    *,
    seq_len: int,
    batch_size: int,
    epoch: int,
    steps: int | None,
    tracker: Any = None,
    skip: int = 0,
    callbacks: Sequence[Any] = (),
) -> tuple[float, float, int]:
    """One pass over the train streams with state carried, reset at the start of the epoch.

    Returns (mean train loss in nats, seconds, characters seen). Batches go through
    `train_on_batch` in stream order, so nothing reorders them. `skip` drops batches a resumed
    epoch already trained; the states then are the checkpoint's, which load_checkpoint restored.
    `callbacks` get Keras' batch hooks, with the running mean loss, and may stop the epoch with
    `model.stop_training`.
    """
    if skip == 0:
        reset_states(model)
    if tracker is not None:
        tracker.start_epoch()
    for cb in callbacks:
        cb.set_model(model)
    model.stop_training = False
    start = time.perf_counter()
    losses: list[float] = []
    batches = iter_stream_batches(path, "train", seq_len, batch_size, offset=epoch % seq_len)
    for i, batch in enumerate(batches):
        if steps is not None and i >= steps:
            break
        if i < skip:
            continue
        done = len(losses)
        for cb in callbacks:
            cb.on_train_batch_begin(done)
        loss = model.train_on_batch(batch[:, :-1], batch[:, 1:])
        losses.append(float(loss if np.ndim(loss) == 0 else loss[0]))
        mean = float(np.mean(losses))
        for cb in callbacks:
            cb.on_train_batch_end(done, {"loss": mean})
        if tracker is not None:
            tracker.batch_done(epoch + 1, i + 1, mean)
        if model.stop_training:
            break
    seconds = time.perf_counter() - start
    mean = float(np.mean(losses)) if losses else float("nan")
    return mean, seconds, len(losses) * batch_size * seq_len


def evaluate_stateful(model_for_batch: Any, path: Path, *, seq_len: int, batch_size: int) -> float:
    """Validation loss (nats/char) reading the val split as streams with state carried.

    `model_for_batch(b)` gives a stateful model with the trained weights for b streams: the
    val split is usually too short for the training batch size, so b is reduced to fit.
    """
    n = split_size(path, "val")
    streams = max(1, min(batch_size, (n - 1) // seq_len))
    model = model_for_batch(streams)
    reset_states(model)
    total, count = 0.0, 0
    for batch in iter_stream_batches(path, "val", seq_len, streams):
        loss = model.test_on_batch(batch[:, :-1], batch[:, 1:])
        total += float(loss if np.ndim(loss) == 0 else loss[0])
        count += 1
    return total / count if count else math.nan
