"""fast_lstm.LSTM must be a drop-in keras.layers.LSTM: same outputs, gradients and weight files."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from chargen import fast_lstm
from chargen.fast_lstm import fused_lstm
from chargen.model import build_model


def _pair(units: int, dim: int, **kwargs: object) -> tuple[keras.layers.LSTM, fast_lstm.LSTM]:
    plain = keras.layers.LSTM(units, **kwargs)
    fused = fast_lstm.LSTM(units, **kwargs)
    plain.build((None, None, dim))
    fused.build((None, None, dim))
    rng = np.random.default_rng(1)
    weights = [
        w + rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in plain.get_weights()
    ]
    plain.set_weights(weights)
    fused.set_weights(weights)
    return plain, fused


@pytest.mark.parametrize("return_sequences", [True, False])
def test_outputs_match_keras_lstm(return_sequences: bool) -> None:
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 7, 5)), tf.float32)
    plain, fused = _pair(4, 5, return_sequences=return_sequences, return_state=True)
    got, want = fused(x), plain(x)
    assert got[0].shape == want[0].shape == ((3, 7, 4) if return_sequences else (3, 4))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_match_keras_lstm() -> None:
    """The hand-written backward pass against TensorFlow's automatic one."""
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 7, 5)), tf.float32)
    h0 = tf.constant(np.random.default_rng(2).normal(size=(3, 4)), tf.float32)
    c0 = tf.constant(np.random.default_rng(3).normal(size=(3, 4)), tf.float32)
    plain, fused = _pair(4, 5, return_sequences=True, return_state=True)
    grads = []
    for layer in (plain, fused):
        with tf.GradientTape() as tape:
            tape.watch([x, h0, c0])
            seq, h, c = layer(x, initial_state=[h0, c0])
            loss = tf.reduce_sum(seq * tf.range(1.0, 5.0)) + tf.reduce_sum(h**2) + tf.reduce_sum(c)
        grads.append(tape.gradient(loss, [x, h0, c0, *layer.trainable_weights]))
    assert len(grads[1]) == 6
    for g, w in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-5)


def test_fused_function_returns_no_sequence_when_not_asked() -> None:
    x = tf.zeros((2, 3, 5))
    kernel, rec, bias = tf.zeros((5, 16)), tf.zeros((4, 16)), tf.zeros((16,))
    (seq, h), c = fused_lstm(
        x, tf.zeros((2, 4)), tf.zeros((2, 4)), kernel, rec, bias, return_sequences=False
    )
    assert seq is None
    # zero weights: every gate is sigmoid(0) = 0.5 and the candidate tanh(0) = 0
    np.testing.assert_allclose(c.numpy(), np.zeros((2, 4)))
    np.testing.assert_allclose(h.numpy(), np.zeros((2, 4)))


def test_masked_input_falls_back_to_keras_path() -> None:
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 3)), tf.float32)
    mask = tf.constant([[True] * 5, [True, True, True, False, False]])
    plain, fused = _pair(4, 3, return_sequences=True)
    np.testing.assert_allclose(
        fused(x, mask=mask).numpy(), plain(x, mask=mask).numpy(), rtol=1e-5, atol=1e-6
    )


def test_weights_interchange_with_plain_lstm_model(tmp_path: Path) -> None:
    """A weights file saved from the fused model loads into a plain one and predicts the same."""
    keras.utils.set_random_seed(0)
    args = {"vocab_size": 11, "embedding_dim": 4, "units": 8, "layers": 2}
    fused = build_model(**args, fused=True)
    plain = build_model(**args, fused=False)
    path = tmp_path / "w.weights.h5"
    fused.save_weights(path)
    plain.load_weights(path)
    ids = np.random.default_rng(0).integers(0, 11, size=(2, 9)).astype(np.int32)
    assert [type(layer) for layer in fused.layers if "lstm" in layer.name] == [fast_lstm.LSTM] * 2
    np.testing.assert_allclose(fused(ids).numpy(), plain(ids).numpy(), rtol=1e-5, atol=1e-6)
