"""The time loops behind fast_layers.LSTM: the forward recurrence and its hand-written gradient.

fast_layers decides when its LSTM takes this path and feeds it the input projections; this
module owns what runs per step. Keeping the two apart lets the loops be read (and profiled)
without the Keras layer around them.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def in_xla_function() -> bool:
    """Whether the ops being built are compiled by XLA (`tf.function(jit_compile=True)`).

    The forward step's activations are written for XLA, where one kernel over all four gates
    beats four; with TensorFlow's own kernels it is the other way round (slower training,
    measured: docs/performance.md). TensorFlow exposes the answer only in a private module,
    so any failure to ask means "no", the formulation that is right everywhere.
    """
    try:
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util

        return bool(control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()))
    except Exception:  # noqa: BLE001 - a moved private API must not break training
        return False


@tf.custom_gradient
def lstm_projected(
    x: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    kernel: tf.Tensor,
    recurrent_kernel: tf.Tensor,
    bias: tf.Tensor,
) -> Any:
    """The LSTM over inputs x [B, T, D], projected for all steps in one product; gradients by
    build_loops, whose loops hold only the [B, U] x [U, 4U] products."""
    batch, steps, dim = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    units = recurrent_kernel.shape[0]
    # time major before the projection: transposing [B, T, D] moves a quarter of the bytes of
    # [B, T, 4U] when D = U, and the backward pass reuses it for the kernel's gradient
    x_t = tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, dim])
    z = tf.reshape(tf.matmul(x_t, kernel), [steps, batch, 4 * units])
    h_all, h, c, backward = build_loops(z, h0, c0, recurrent_kernel, bias)

    def grad(d_seq: tf.Tensor, d_h: tf.Tensor, d_c: tf.Tensor) -> Any:
        dz_all, dh0, dc0, d_recurrent, d_bias = backward(d_seq, d_h, d_c)
        d_kernel = tf.matmul(x_t, dz_all, transpose_a=True)
        d_x = tf.matmul(dz_all, kernel, transpose_b=True)
        d_x = tf.transpose(tf.reshape(d_x, [steps, batch, dim]), [1, 0, 2])
        return d_x, dh0, dc0, d_kernel, d_recurrent, d_bias

    return (tf.transpose(h_all, [1, 0, 2]), h, c), grad


@tf.custom_gradient
def lstm_table(
    ids: tf.Tensor,
    embeddings: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    kernel: tf.Tensor,
    recurrent_kernel: tf.Tensor,
    bias: tf.Tensor,
) -> Any:
    """lstm_projected over x = embeddings[ids], its projection a lookup in embeddings @ kernel."""
    batch, steps = tf.shape(ids)[0], tf.shape(ids)[1]
    units = recurrent_kernel.shape[0]
    ids_t = tf.reshape(tf.transpose(ids), [-1])  # time major, as the loops run
    table = tf.matmul(embeddings, kernel)  # [V, 4U]
    z = tf.reshape(tf.gather(table, ids_t), [steps, batch, 4 * units])
    h_all, h, c, backward = build_loops(z, h0, c0, recurrent_kernel, bias)

    def grad(d_seq: tf.Tensor, d_h: tf.Tensor, d_c: tf.Tensor) -> Any:
        dz_all, dh0, dc0, d_recurrent, d_bias = backward(d_seq, d_h, d_c)
        d_table = tf.math.unsorted_segment_sum(dz_all, ids_t, tf.shape(embeddings)[0])
        d_embeddings = tf.matmul(d_table, kernel, transpose_b=True)
        d_kernel = tf.matmul(embeddings, d_table, transpose_a=True)
        return None, d_embeddings, dh0, dc0, d_kernel, d_recurrent, d_bias

    return (tf.transpose(h_all, [1, 0, 2]), h, c), grad


def build_loops(
    z: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, recurrent_kernel: tf.Tensor, bias: tf.Tensor
) -> Any:
    """Forward and backward loops over the input projections z [T, B, 4U] (time major), with
    only the [B, U] x [U, 4U] products inside them: (all h [T, B, U], last h, last c, and
    backward(d_seq, d_h, d_c) -> (gate gradients [T*B, 4U], dh0, dc0, d_recurrent, d_bias)).

    The weight gradients are large matmuls over all steps at once, which a CPU runs far
    faster than T small ones accumulated inside the loop (what automatic differentiation
    would build).
    """
    units = recurrent_kernel.shape[0]
    record_all, h, c = _forward_loop(z, h0, c0, recurrent_kernel, bias)
    h_all = record_all[:, :, 6 * units :]  # [T, B, U]

    def backward(d_seq: tf.Tensor, d_h: tf.Tensor, d_c: tf.Tensor) -> Any:
        d_seq_t = tf.transpose(d_seq, [1, 0, 2]) if d_seq is not None else tf.zeros_like(h_all)
        d_h = d_h if d_h is not None else tf.zeros_like(h0)
        dz_all, dh0, dc0 = _backward_loop(z, record_all, d_seq_t, d_h, d_c, recurrent_kernel)
        h_prev = tf.reshape(tf.concat([h0[None], h_all[:-1]], axis=0), [-1, units])
        d_recurrent = tf.matmul(h_prev, dz_all, transpose_a=True)
        d_bias = tf.reduce_sum(dz_all, axis=0)
        return dz_all, dh0, dc0, d_recurrent, d_bias

    return h_all, h, c, backward


def _forward_loop(
    z: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, recurrent_kernel: tf.Tensor, bias: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The recurrence over z [T, B, 4U]: (records [T, B, 7U], last h, last c).

    Each step writes one record [i f g o | c_prev | tanh c | h], so the backward loop reads a
    single array and computes no transcendental; under XLA the step's activations are one
    kernel over all four gates (tanh on the candidate's columns, sigmoid elsewhere). In XLA's
    CPU code every small kernel and every slice of a per-step read costs time (README,
    Performance).
    """
    steps = tf.shape(z)[0]
    units = recurrent_kernel.shape[0]
    dtype = z.dtype
    xla = in_xla_function()
    if xla:
        columns = tf.range(4 * units)
        candidate = (columns >= 2 * units) & (columns < 3 * units)  # the g gate's columns
    # the bias is added inside the loop, where it fuses into the activation kernel, rather
    # than in a pass of its own over all T x B x 4U projections
    zs = tf.TensorArray(dtype, size=steps).unstack(z)

    def step(t, h, c, records):  # type: ignore[no-untyped-def]
        gates = zs.read(t) + tf.matmul(h, recurrent_kernel) + bias
        if xla:
            acts = [tf.where(candidate, tf.tanh(gates), tf.sigmoid(gates))]
            i, f, g, o = tf.split(acts[0], 4, axis=-1)
        else:  # TensorFlow's own kernels: four activations on quarters beat two on the whole
            i, f, g, o = tf.split(gates, 4, axis=-1)
            acts = [tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)]
            i, f, g, o = acts
        c_prev = c
        c = f * c + i * g
        tanh_c = tf.tanh(c)
        h = o * tanh_c
        return t + 1, h, c, records.write(t, tf.concat([*acts, c_prev, tanh_c, h], axis=-1))

    _, h, c, records = tf.while_loop(
        lambda t, *_: t < steps,
        step,
        (tf.constant(0), h0, c0, tf.TensorArray(dtype, size=steps)),
        maximum_iterations=steps,
    )
    return records.stack(), h, c


def _backward_loop(
    z: tf.Tensor,
    record_all: tf.Tensor,
    d_seq_t: tf.Tensor,
    d_h: tf.Tensor,
    d_c: tf.Tensor,
    recurrent_kernel: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The recurrence's gradient, last step first: (gate gradients [T*B, 4U], dh0, dc0).

    `d_seq_t` [T, B, U] is the gradient of every step's h (time major), `d_h` and `d_c` those
    of the last state; `z` only lends its buffer (below).
    """
    steps = tf.shape(z)[0]
    units = recurrent_kernel.shape[0]
    dtype = z.dtype
    d_hs = tf.TensorArray(dtype, size=steps).unstack(d_seq_t)
    records_b = tf.TensorArray(dtype, size=steps).unstack(record_all)
    r_t = tf.transpose(recurrent_kernel)

    def step(t, dh_next, dc_next, dzs):  # type: ignore[no-untyped-def]
        i, f, g, o, c_prev, tanh_c, _ = tf.split(records_b.read(t), 7, axis=-1)
        dh = d_hs.read(t) + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
        dz = tf.concat(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        return t - 1, tf.matmul(dz, r_t), dc * f, dzs.write(t, dz)

    # the gate gradients overwrite the projections z, which have the same shape and are
    # dead by now: XLA reuses their buffer instead of filling a new one with zeros first
    dzs = tf.TensorArray(dtype, size=steps).unstack(z)
    _, dh0, dc0, dzs = tf.while_loop(
        lambda t, *_: t >= 0,
        step,
        (steps - 1, d_h, d_c, dzs),
        maximum_iterations=steps,
    )
    return tf.reshape(dzs.stack(), [-1, 4 * units]), dh0, dc0
