from __future__ import annotations

import keras
import numpy as np

from chargen.model import build_model, compile_model, recurrent_layers


def test_logits_for_every_position() -> None:
    model = build_model(vocab_size=11, embedding_dim=4, units=8, layers=2, dropout=0.1)
    out = model(np.zeros((3, 7), dtype=np.int32))
    assert tuple(out.shape) == (3, 7, 11)
    assert [layer.name for layer in recurrent_layers(model)] == ["lstm_0", "lstm_1"]
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [
        "dropout_0",
        "dropout_1",
    ]


def test_lstm_layers_keep_cudnn_eligible_settings() -> None:
    model = build_model(vocab_size=5, embedding_dim=4, units=8, layers=3, dropout=0.2)
    for layer in recurrent_layers(model):
        cfg = layer.get_config()
        assert cfg["activation"] == "tanh"
        assert cfg["recurrent_activation"] == "sigmoid"
        assert cfg["recurrent_dropout"] == 0
        assert cfg["unroll"] is False
        assert cfg["use_bias"] is True
        assert cfg["return_sequences"] is True
        assert layer.use_cudnn in ("auto", True)


def test_compiled_loss_is_sparse_crossentropy_from_logits() -> None:
    keras.utils.set_random_seed(0)
    model = build_model(vocab_size=6, embedding_dim=16, units=32, layers=2)
    compile_model(model, learning_rate=0.01, clip_norm=1.0)
    x = np.random.default_rng(0).integers(0, 6, size=(4, 5)).astype(np.int32)
    loss = model.evaluate(x, x, verbose=0)
    # an untrained model is close to uniform: log(6) nats per character
    assert abs(loss - np.log(6)) < 0.1
    assert model.optimizer.global_clipnorm == 1.0


def test_weights_of_another_model_are_one_clear_error(tmp_path, recwarn) -> None:
    """A GRU run's weights in an LSTM run (an edited config.json, a copied file): one line that
    names what did not fit, and none of Keras' warnings."""
    import pytest

    from chargen.errors import RunError
    from chargen.model import load_weights

    path = tmp_path / "gru.weights.h5"
    build_model(vocab_size=5, embedding_dim=2, units=4, layers=2, cell="gru").save_weights(path)
    lstm = build_model(vocab_size=5, embedding_dim=2, units=4, layers=1)
    with pytest.raises(RunError) as err:
        load_weights(lstm, path, vocab_size=5)
    assert str(err.value).startswith(
        f"cannot load weights {path}: they are not for the model in the run's config (Layer "
    )
    assert "expected 3 variables" in str(err.value)
    assert "\n" not in str(err.value)
    assert not [w for w in recwarn if "Skipping" in str(w.message)]
