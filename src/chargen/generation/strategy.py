"""How the next character is picked: argmax, temperature, top-k and top-p.

TensorFlow is imported inside the graph functions, so a command that only validates a strategy
(every `chargen sample` before a model loads) does not pay for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chargen.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """How the next character is picked from logits. temperature 0 means argmax."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or self.top_k == 1

    def tensors(self) -> tuple[Any, Any, Any]:
        import tensorflow as tf

        return (
            tf.constant(max(self.temperature, 1e-6), tf.float32),
            tf.constant(self.top_k or 0, tf.int32),
            tf.constant(self.top_p or 1.0, tf.float32),
        )


def filter_logits(logits: Any, temperature: Any, top_k: Any, top_p: Any) -> Any:
    """Scale by 1/temperature, then mask everything outside the top-k and the top-p nucleus.

    Works on a batch [B, V] with k and p as tensors (0 and 1.0 disable them), so one compiled
    graph serves every strategy.
    """
    import tensorflow as tf

    logits = tf.cast(logits, tf.float32) / temperature
    vocab = tf.shape(logits)[-1]
    ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    kth = tf.gather(ordered, k - 1, axis=-1)[:, None]
    probs = tf.nn.softmax(ordered, axis=-1)
    before = tf.cumsum(probs, axis=-1, exclusive=True)
    # keep the smallest prefix whose mass reaches top_p (the first token is always kept)
    in_nucleus = before < top_p
    pth = tf.reduce_min(tf.where(in_nucleus, ordered, ordered[:, :1]), axis=-1, keepdims=True)
    threshold = tf.maximum(kth, pth)
    return tf.where(logits >= threshold, logits, tf.fill(tf.shape(logits), -np.inf))


def pick_next(
    logits: Any,
    temperature: Any,
    top_k: Any,
    top_p: Any,
    greedy: Any,
    seed: Any,
) -> Any:
    """Next ids [B] from logits [B, V]: argmax when `greedy`, else a stateless draw from `seed`.

    The draw is Gumbel-max (argmax of logits/T plus Gumbel noise), which samples exactly the
    softmax distribution with one elementwise pass. The sort behind top-k/top-p runs only when
    one of them is set: at a batch of 64 it would otherwise cost as much as the LSTM step.
    """
    import tensorflow as tf

    scaled = tf.cast(logits, tf.float32) / temperature
    filtered = tf.cond(
        tf.logical_or(top_k > 0, top_p < 1.0),
        lambda: filter_logits(logits, temperature, top_k, top_p),
        lambda: scaled,
    )
    uniform = tf.random.stateless_uniform(
        tf.shape(filtered), seed=seed, minval=np.finfo(np.float32).tiny, maxval=1.0
    )
    drawn = tf.argmax(filtered - tf.math.log(-tf.math.log(uniform)), axis=-1, output_type=tf.int32)
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.where(greedy, best, drawn)
