"""The seq2seq model: Embedding -> encoder LSTM -> thought vector -> decoder LSTM -> logits.

Plain Keras LSTMs with default activations and masks from right padding, so Keras picks the
cuDNN kernel on a GPU. One embedding serves encoder and decoder: it is the character map that
`plot` draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.autoencoder.config import AutoencoderConfig
from chargen.autoencoder.words import FIRST_CHAR, PAD
from chargen.data.vocab import Vocab


@dataclass(frozen=True)
class Parts:
    """The trained model and the pieces decoding steps through one character at a time."""

    model: Any  # [encoder symbols, decoder symbols] -> logits
    encoder: Any  # encoder symbols -> thought vector
    initial_state: Any  # thought vector -> [h, c] of the decoder
    embedding: Any
    cell: Any  # the decoder's LSTMCell
    logits: Any


def build_for(config: AutoencoderConfig, vocab: Vocab) -> Parts:
    """The model of a run: its config's sizes, a symbol per character after PAD/START/END."""
    return build_autoencoder(
        n_symbols=len(vocab) + FIRST_CHAR,
        units=config.units,
        embedding_dim=config.embedding_dim,
        thought_dim=config.thought_dim,
    )


def build_autoencoder(
    *, n_symbols: int, units: int, embedding_dim: int, thought_dim: int | None
) -> Parts:
    """Without `thought_dim` the thought vector is the encoder's final [h, c]; with it, a
    tanh Dense layer squeezes [h, c] to `thought_dim` numbers and two more expand it back."""
    import keras

    enc_in = keras.Input((None,), dtype="int32", name="encoder_symbols")
    dec_in = keras.Input((None,), dtype="int32", name="decoder_symbols")
    embedding = keras.layers.Embedding(n_symbols, embedding_dim, mask_zero=True, name="embedding")
    _, h, c = keras.layers.LSTM(units, return_state=True, name="encoder")(embedding(enc_in))
    state = keras.layers.Concatenate(name="final_state")([h, c])
    if thought_dim is None:
        thought = state
        th_in = keras.Input((2 * units,), name="thought")
        h0, c0 = th_in[:, :units], th_in[:, units:]
    else:
        squeeze = keras.layers.Dense(thought_dim, activation="tanh", name="thought")
        to_h = keras.layers.Dense(units, activation="tanh", name="state_h")
        to_c = keras.layers.Dense(units, name="state_c")
        thought = squeeze(state)
        h, c = to_h(thought), to_c(thought)
        th_in = keras.Input((thought_dim,), name="thought")
        h0, c0 = to_h(th_in), to_c(th_in)
    decoder = keras.layers.LSTM(units, return_sequences=True, name="decoder")
    logits = keras.layers.Dense(n_symbols, name="logits")
    out = logits(decoder(embedding(dec_in), initial_state=[h, c]))
    return Parts(
        model=keras.Model([enc_in, dec_in], out, name="autoencoder"),
        encoder=keras.Model(enc_in, thought, name="encoder_model"),
        initial_state=keras.Model(th_in, [h0, c0], name="initial_state"),
        embedding=embedding,
        cell=decoder.cell,
        logits=logits,
    )


def masked_loss(target: Any, logits: Any) -> Any:
    """Mean cross-entropy over real symbols only: padding adds nothing to the sum or the count,
    so a batch of short words is not diluted by its padding."""
    import tensorflow as tf

    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
    mask = tf.cast(tf.not_equal(target, PAD), ce.dtype)
    return tf.reduce_sum(ce * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


@dataclass(frozen=True)
class Counts:
    """Correct symbols and words under teacher forcing (padding excluded). A word is right when
    every symbol and its END are: exactly when greedy decoding writes it back."""

    chars: int = 0
    char_total: int = 0
    words: int = 0
    word_total: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.chars + other.chars,
            self.char_total + other.char_total,
            self.words + other.words,
            self.word_total + other.word_total,
        )

    @property
    def char_accuracy(self) -> float:
        return self.chars / self.char_total if self.char_total else 0.0

    @property
    def word_accuracy(self) -> float:
        return self.words / self.word_total if self.word_total else 0.0


def count_correct(target: npt.NDArray[np.int32], logits: npt.NDArray[np.floating]) -> Counts:
    real = target != PAD
    right = (np.argmax(logits, axis=-1) == target) & real
    whole = (right | ~real).all(axis=1)
    return Counts(int(right.sum()), int(real.sum()), int(whole.sum()), len(target))
