"""One generation step of stacked recurrent layers, written as a few matrix products.

The sampler steps these instead of calling Keras cells: the input projection of the first layer
is a table lookup, and for one sample each layer's new h meets its recurrent kernel and the
matrix above it in one product. See docs/performance.md (Sampling)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def lstm_weights(cell: Any, embeddings: Any = None, *, split: bool = False) -> dict[str, Any]:
    """One LSTM cell's weights laid out for lstm_step.

    With `embeddings` (the first layer), the input projection becomes a table: embeddings @
    kernel + bias, one row per character, so a step gathers a row instead of multiplying.
    `split` stacks the two column halves of each matrix, [2, D, 2U], for one batched product:
    XLA hands the two halves to two threads, where a single [1, U] x [U, 4U] product runs on
    one core and is bound by its memory bandwidth (SPLIT_BATCH). Always float32, the
    variables' dtype, whatever precision the model was trained in.
    """
    dtype = tf.float32
    kernel = tf.cast(cell.kernel, dtype)
    recurrent = tf.cast(cell.recurrent_kernel, dtype)
    bias = tf.cast(cell.bias, dtype)
    blocks = _column_halves if split else (lambda m: m)
    weights = {"recurrent": blocks(recurrent), "scale": _gate_scale(cell.units)}
    if embeddings is not None:
        weights["table"] = _input_table(cell, embeddings)
    else:
        weights["kernel"], weights["bias"] = blocks(kernel), bias
    return weights


def stacked_weights(cells: list[Any], embeddings: Any, dense: Any) -> list[dict[str, Any]]:
    """A stack of standard LSTM cells and the logits layer laid out for stacked_step.

    Each layer's new h meets two matrices in a step: its own recurrent kernel (for the next
    step) and the kernel above it (the next layer's input, or the logits). Joined column-wise
    and split in halves for both cores, they make one product per layer instead of two, half
    the hand-offs to the second core; it pays for one sample, not at 64 samples, where the
    products are not split (docs/performance.md, Sampling).
    """
    dtype = tf.float32
    layers = []
    for i, cell in enumerate(cells):
        above = cells[i + 1] if i + 1 < len(cells) else dense
        recurrent = tf.cast(cell.recurrent_kernel, dtype)
        joined = tf.concat([recurrent, tf.cast(above.kernel, dtype)], axis=1)
        layers.append(
            {
                "recurrent": recurrent,
                "joined": _column_halves(joined),
                "width": joined.shape[1],
                "above_bias": tf.cast(above.bias, dtype),
                "scale": _gate_scale(cell.units),
            }
        )
    layers[0]["table"] = _input_table(cells[0], embeddings)
    return layers


def _input_table(cell: Any, embeddings: Any) -> tf.Tensor:
    dtype = tf.float32
    kernel = tf.cast(cell.kernel, dtype)
    return tf.matmul(tf.cast(embeddings, dtype), kernel) + tf.cast(cell.bias, dtype)


def _gate_scale(units: int) -> tf.Tensor:
    """sigmoid(scale * z) with 2 on the cell-input gate: tanh(g) = 2 sigmoid(2 g) - 1, so one
    sigmoid covers all four gates. XLA's CPU code for transcendentals on column slices of
    [B, 4U] is several times slower than on the whole tensor."""
    ones = tf.ones([units], tf.float32)
    return tf.concat([ones, ones, 2 * ones, ones], axis=0)


def _column_halves(m: tf.Tensor) -> tf.Tensor:
    """[D, N] -> [2, D, ceil(N / 2)], a zero column padding an odd N."""
    if m.shape[1] % 2:
        m = tf.pad(m, [[0, 0], [0, 1]])
    return tf.stack(tf.split(m, 2, axis=1))


def _project(v: tf.Tensor, m: tf.Tensor, width: int | None = None) -> tf.Tensor:
    """v [B, D] times m: a [D, N] matrix, or [P, D, N / P] column blocks (_column_halves),
    keeping the first `width` columns."""
    if m.shape.rank == 2:
        return v @ m
    batch = tf.shape(v)[0]
    blocks = tf.matmul(tf.broadcast_to(v[None], [m.shape[0], batch, v.shape[-1]]), m)
    joined = tf.reshape(tf.transpose(blocks, [1, 0, 2]), [batch, -1])
    return joined if width is None else joined[:, :width]


def _cell_update(z: tf.Tensor, c: tf.Tensor, scale: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    i, f, g, o = tf.split(tf.sigmoid(z * scale), 4, axis=1)
    c = f * c + i * (2 * g - 1)
    return o * tf.tanh(c), c


def lstm_step(
    x: tf.Tensor, h: tf.Tensor, c: tf.Tensor, weights: dict[str, Any]
) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of keras.layers.LSTMCell (gates i, f, c, o): (h, c). `x` is ids [B] where the
    weights hold a table (first layer), else inputs [B, D]."""
    if "table" in weights:
        z = tf.gather(weights["table"], x) + _project(h, weights["recurrent"])
    else:
        z = _project(x, weights["kernel"]) + _project(h, weights["recurrent"]) + weights["bias"]
    return _cell_update(z, c, weights["scale"])


def stacked_step(
    ids: tf.Tensor,
    cs: tuple[tf.Tensor, ...],
    recurrent_parts: tuple[tf.Tensor, ...],
    layers: list[dict[str, Any]],
) -> tuple[tf.Tensor, tuple[tf.Tensor, ...], tuple[tf.Tensor, ...], tuple[tf.Tensor, ...]]:
    """One character through a stack laid out by stacked_weights: (logits, hs, cs, and each
    layer's h @ recurrent kernel for the next step). `recurrent_parts` are those products from
    the step before (h_prev @ recurrent kernel, computed along with the layer above's input)."""
    inputs = tf.gather(layers[0]["table"], ids)
    hs, new_cs, parts = [], [], []
    for layer, c, part in zip(layers, cs, recurrent_parts, strict=True):
        h, c = _cell_update(inputs + part, c, layer["scale"])
        joined = _project(h, layer["joined"], layer["width"])
        gates = part.shape[-1]
        parts.append(joined[:, :gates])
        inputs = joined[:, gates:] + layer["above_bias"]
        hs.append(h)
        new_cs.append(c)
    return inputs, tuple(hs), tuple(new_cs), tuple(parts)
