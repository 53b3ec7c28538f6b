"""Stateful (char-rnn style) training and scoring over data.streams' stream-ordered batches."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chargen.data.prepared import split_size
from chargen.data.streams import iter_stream_batches


def reset_states(model: Any) -> None:
    from chargen.model.build import recurrent_layers

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
        tracker.start_epoch(skip)
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
