"""The autoencoder's word lists as arrays, and its loss and accuracy over them in large
batches: what training validates with and `evaluate` scores with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.autoencoder.model import Counts, Parts, count_correct, masked_loss
from chargen.autoencoder.words import PAD, decoder_arrays, delete_chars, encode_words
from chargen.data.vocab import Vocab

EVAL_BATCH = 1024


@dataclass(frozen=True)
class Arrays:
    """A word list as the model reads it: encoder symbols (reversed) and decoder in/out."""

    enc: npt.NDArray[np.int32]
    dec: npt.NDArray[np.int32]
    target: npt.NDArray[np.int32]

    @classmethod
    def of(cls, words: list[str], vocab: Vocab) -> Arrays:
        dec, target = decoder_arrays(encode_words(words, vocab))
        return cls(encode_words(words, vocab, reverse=True), dec, target)

    def batch(self, idx: npt.NDArray[np.int64], noise: float, rng: np.random.Generator) -> tuple:
        enc = self.enc[idx]
        enc = delete_chars(enc, noise, rng) if noise else _trim(enc)
        width = int((self.target[idx] != PAD).sum(axis=1).max(initial=1))
        return enc, self.dec[idx, :width], self.target[idx, :width]


def _trim(ids: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Drop the all-padding columns a batch of short words has: less work, same result."""
    width = int((ids != PAD).sum(axis=1).max(initial=1))
    return np.ascontiguousarray(ids[:, :width])


def forward_fn(parts: Parts) -> Callable[..., Any]:
    import tensorflow as tf

    spec = [tf.TensorSpec([None, None], tf.int32)] * 2
    return tf.function(lambda e, d: parts.model([e, d], training=False), input_signature=spec)


def measure(
    forward: Callable[..., Any],
    data: Arrays,
    *,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[float, Counts]:
    """Masked loss and correct counts over a word list, in large batches."""
    rng = rng if rng is not None else np.random.default_rng(0)
    total, weight, counts = 0.0, 0, Counts()
    for start in range(0, len(data.enc), EVAL_BATCH):
        idx = np.arange(start, min(start + EVAL_BATCH, len(data.enc)))
        enc, dec, target = data.batch(idx, noise, rng)
        logits = np.asarray(forward(enc, dec))
        real = int((target != PAD).sum())
        total += float(masked_loss(target, logits)) * real
        weight += real
        counts += count_correct(target, logits)
    return (total / weight if weight else 0.0), counts
