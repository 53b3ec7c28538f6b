"""Summed cross-entropy of a model over batches, in float64 outside Keras metric trackers so
it can run in the middle of fit; one definition of nats and bits per character."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chargen.data.windows import make_dataset

LN2 = math.log(2.0)


def make_scorer(model: Any) -> Callable[[Any, Any], tuple[float, int]]:
    """Summed cross-entropy (nats) and target count of one batch; traced once per model."""
    import tensorflow as tf

    spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)

    @tf.function(input_signature=[spec, spec])
    def step(x: Any, y: Any) -> tuple[Any, Any]:
        logits = model(x, training=False)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        return tf.reduce_sum(tf.cast(loss, tf.float64)), tf.size(y)

    def score(x: Any, y: Any) -> tuple[float, int]:
        loss, n = step(tf.cast(x, tf.int32), tf.cast(y, tf.int32))
        return float(loss), int(n)

    return score


def score_batches(
    scorer: Callable[[Any, Any], tuple[float, int]], batches: Any
) -> tuple[float, int]:
    """Summed loss and target count over (inputs, targets) batches."""
    total, count = 0.0, 0
    for x, y in batches:
        loss, n = scorer(x, y)
        total += loss
        count += n
    return total, count


def split_loss(scorer: Any, path: Path, split: str, seq_len: int, batch_size: int) -> float:
    """Mean loss in nats per character over every window of a prepared split."""
    ds = make_dataset(path, split, seq_len, batch_size, shuffle=False, drop_remainder=False)
    total, count = score_batches(scorer, ds)
    return total / count if count else math.nan
