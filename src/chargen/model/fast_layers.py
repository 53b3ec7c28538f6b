"""Drop-in replacements for two Keras layers that are slow on a CPU under XLA.

`LSTM`: Keras' generic LSTM multiplies each step's input by the kernel inside the recurrence: T
small matmuls of shape [B, D] x [D, 4U] that a CPU runs one after another. Hoisting them into one
[B*T, D] x [D, 4U] matmul before the loop leaves only h @ recurrent_kernel inside it. The layer
subclasses `keras.layers.LSTM` and keeps its variables (kernel, recurrent_kernel, bias, gate
order i, f, c, o), so weights stay interchangeable with a plain LSTM, the sampler can step its
cell, and on a GPU the cuDNN kernel is used exactly as Keras would use it. This module decides
when that path applies; the loops and their gradient live in `lstm_loops`.

`Dropout`: Keras draws dropout masks with TensorFlow's default stateless algorithm, which XLA
expands on a CPU into 64-bit Philox arithmetic: 27 ms per [64, 100, 256] mask, an eighth of the
default model's training step (profiled). ThreeFry needs only 32-bit adds, rotations and xors,
which vectorise: 3 ms for the same mask.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from chargen.model import lstm_loops
from chargen.runtime import gpu_available


def standard_cell(cell: Any) -> bool:
    """Whether `cell` is the standard LSTM (bias, tanh, sigmoid gates) that the hand-written
    steps here and in the sampler (sample.lstm_step) compute."""
    return (
        isinstance(cell, keras.layers.LSTMCell)
        and cell.use_bias
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
    )


@keras.saving.register_keras_serializable(package="chargen")
class LSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with the input projection hoisted out of the time loop on CPU.

    The class keeps the name LSTM on purpose: Keras keys weight files by the snake-cased class
    name (`layers/lstm/cell/vars/0`), so this name is what keeps weights interchangeable.
    """

    def _fusable(self, mask: Any) -> bool:
        cell = self.cell
        return (
            mask is None
            and not self.go_backwards
            and not self.unroll
            and not cell.dropout
            and not cell.recurrent_dropout
            and standard_cell(cell)
            and self.use_cudnn is not True
            and not gpu_available()
        )

    def inner_loop(
        self, sequences: Any, initial_state: Any, mask: Any, training: bool = False
    ) -> Any:
        if isinstance(mask, list | tuple):
            mask = mask[0]
        if not self._fusable(mask):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell = self.cell
        dtype = sequences.dtype
        weights = [tf.cast(w, dtype) for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]
        h, c = fused_lstm(
            sequences, initial_state[0], initial_state[1], *weights,
            return_sequences=self.return_sequences, lookup=embedding_lookup(sequences),
        )  # fmt: skip
        last_h, last_c = h[1], c
        outputs = h[0] if self.return_sequences else last_h
        return last_h, outputs, [last_h, last_c]


def fused_lstm(
    x: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    kernel: tf.Tensor,
    recurrent_kernel: tf.Tensor,
    bias: tf.Tensor,
    *,
    return_sequences: bool = True,
    lookup: tuple[tf.Tensor, tf.Tensor] | None = None,
) -> tuple[tuple[tf.Tensor | None, tf.Tensor], tf.Tensor]:
    """Run the LSTM over x [B, T, D]: ((all h [B, T, U] or None, last h), last c).

    The same equations as `keras.layers.LSTMCell` with gates in Keras' i, f, c, o order.
    `lookup` (ids [B, T], embeddings [V, D]) says x is embeddings[ids] (embedding_lookup): then
    x is not read, and the input projection x @ kernel is (embeddings @ kernel)[ids], a [V, 4U]
    table and a gather instead of a [B*T, D] x [D, 4U] product; its gradients are a sum of
    gate gradients per character and two products of V rows instead of two of B*T rows.
    """
    if lookup is not None:
        seq, h, c = lstm_loops.lstm_table(*lookup, h0, c0, kernel, recurrent_kernel, bias)
    else:
        seq, h, c = lstm_loops.lstm_projected(x, h0, c0, kernel, recurrent_kernel, bias)
    return (seq if return_sequences else None, h), c


# the most characters for which the first layer projects through a table (embedding_lookup):
# a batch of 64 windows of 100 makes 6,400 lookups
MAX_TABLE_ROWS = 8192


def embedding_lookup(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor] | None:
    """(ids [B, T], embeddings [V, D]) when graph tensor x is `tf.gather(embeddings, ids)`, as
    Keras' Embedding layer computes it, else None.

    Keras hands a layer only its input, not how it was made, so the first LSTM layer finds
    its ids from the op that produced it. Anything else (eager tensors, a cast under mixed
    precision, dropout between the layers) is None: the plain path, same results. So is a
    table of more than MAX_TABLE_ROWS rows (a word vocabulary), whose [V, 4U] table could
    cost more than the [B*T, D] x [D, 4U] product it replaces.
    """
    op = getattr(x, "op", None)
    if op is None or op.type != "GatherV2" or len(op.inputs) != 3:
        return None
    try:
        batch_dims = op.get_attr("batch_dims")
    except (ValueError, TypeError):
        return None
    embeddings, ids, axis = op.inputs
    if (
        batch_dims != 0
        or tf.get_static_value(axis) != 0
        or embeddings.dtype != x.dtype
        or embeddings.shape.rank != 2
        or embeddings.shape[0] is None
        or embeddings.shape[0] > MAX_TABLE_ROWS
        or ids.shape.rank != 2
        or not ids.dtype.is_integer
    ):
        return None
    return ids, embeddings


@keras.saving.register_keras_serializable(package="chargen")
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout` that can draw its masks with ThreeFry; same seeds, same state.

    `rng_alg` None keeps TensorFlow's default algorithm; `model.compile_model` sets "threefry"
    on a model it compiles with XLA (TensorFlow's own CPU kernel has no ThreeFry, so only
    compiled steps can use it). The class keeps the name Dropout for the same reason LSTM does.
    """

    rng_alg: str | None = None

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate <= 0 or self.rate >= 1 or self.rng_alg is None:
            return super().call(inputs, training=training)
        seed = self.seed_generator.next()
        # Keras keeps seeds as int64; the stateless kernels take int32 (as Keras casts them)
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        noise_shape = None
        if self.noise_shape is not None:
            noise_shape = [
                tf.shape(inputs)[i] if size is None else size
                for i, size in enumerate(self.noise_shape)
            ]
        return threefry_dropout(inputs, self.rate, seed, noise_shape)


def threefry_dropout(x: tf.Tensor, rate: float, seed: tf.Tensor, noise_shape: Any = None) -> Any:
    """Dropout with two keep/drop decisions from each 32-bit ThreeFry word, 16 bits apiece.

    Why: generating the bits is most of a mask's cost, and `stateless_dropout` spends a whole
    word per element; in a profile of the default model's step the masks took 3.9 ms each
    this way against 1.4 ms. The drop rate is rounded to a multiple of 1/65536 (0.1 ->
    0.100006) and kept values are scaled by the exact inverse of the rounded keep probability,
    so the layer stays unbiased.
    """
    shape = tf.shape(x) if noise_shape is None else tf.convert_to_tensor(noise_shape)
    count = tf.reduce_prod(shape)
    words = tf.random.stateless_uniform(
        [(count + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.uint32, alg="threefry"
    )
    halves = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:count]
    threshold = round(rate * 65536)
    keep = tf.reshape(tf.cast(halves, tf.int32) >= threshold, shape)
    scale = tf.cast(65536 / (65536 - threshold), x.dtype)
    return tf.where(keep, x * scale, tf.zeros((), x.dtype))
