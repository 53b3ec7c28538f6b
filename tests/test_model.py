from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from chargen.model.build import build_model, compile_model, recurrent_layers


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


@pytest.mark.parametrize("layer_norm", [False, True])
def test_weight_decay_shrinks_kernels_and_embeddings_not_biases(layer_norm: bool) -> None:
    """Lion's update is the sign of its momentum: zero for zero gradients, so one step moves
    each variable only by the decay, which must spare biases and layer norm's parameters."""
    keras.utils.set_random_seed(0)
    model = build_model(vocab_size=5, embedding_dim=3, units=4, layers=1, layer_norm=layer_norm)
    model(np.zeros((1, 2), dtype=np.int32))
    compile_model(
        model, learning_rate=0.1, clip_norm=0, optimizer="lion", beta_2=0.95, weight_decay=0.5
    )
    assert isinstance(model.optimizer, keras.optimizers.Lion) and model.optimizer.beta_2 == 0.95
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    if layer_norm:  # layer norm's beta starts at zero: give it something decay could shrink
        before = {k: v + 1.0 if k.endswith("beta") else v for k, v in before.items()}
        for v in model.trainable_variables:
            v.assign(before[v.path])
    zeros = [keras.ops.zeros_like(v) for v in model.trainable_variables]
    model.optimizer.apply(zeros, model.trainable_variables)
    kept = {"bias", "gamma", "beta"}
    for v in model.trainable_variables:
        name = v.path.rsplit("/", 1)[-1]
        factor = 1.0 if name in kept else 1.0 - 0.1 * 0.5
        np.testing.assert_allclose(v.numpy(), before[v.path] * factor, rtol=1e-6, err_msg=v.path)
    assert any(name.endswith("embeddings") for name in before)


@pytest.mark.parametrize(("name", "beta_2"), [("adam", 0.999), ("nadam", 0.999)])
def test_optimizer_keeps_its_own_beta_2_by_default(name: str, beta_2: float) -> None:
    model = build_model(vocab_size=5, embedding_dim=3, units=4, layers=1)
    compile_model(model, learning_rate=0.01, clip_norm=1.0, optimizer=name)
    assert type(model.optimizer).__name__.lower() == name
    assert model.optimizer.beta_2 == beta_2 and model.optimizer.weight_decay is None


def test_weights_of_another_model_are_one_clear_error(tmp_path, recwarn) -> None:
    """A GRU run's weights in an LSTM run (an edited config.json, a copied file): one line that
    names what did not fit, and none of Keras' warnings."""
    import pytest

    from chargen.errors import RunError
    from chargen.model.build import load_weights

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


def _twins(shards: int, dropout: float = 0.0) -> tuple[keras.Model, keras.Model]:
    """Two identical XLA-compiled models: one with Keras' own step, one split into shards."""
    from chargen.model.build import Model

    models = []
    for n in (1, shards):
        keras.utils.set_random_seed(7)
        model = build_model(vocab_size=9, embedding_dim=4, units=8, layers=2, dropout=dropout)
        with pytest.MonkeyPatch.context() as mp:  # the arithmetic, whatever the machine's cores
            mp.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
            compile_model(model, learning_rate=0.05, clip_norm=1.0, jit_compile=True, shards=n)
        assert isinstance(model, Model) and model.shards == n
        models.append(model)
    return models[0], models[1]


def test_sharded_step_equals_one_step() -> None:
    """Split into uneven shards (5 rows in 2, 3 rows in 4: one shard empty), the step must
    report the whole batch's mean loss and move every weight as the unsplit step does."""
    rng = np.random.default_rng(0)
    for rows, shards in ((5, 2), (3, 4)):
        whole, split = _twins(shards)
        for _ in range(3):
            ids = rng.integers(0, 9, size=(rows, 12)).astype(np.int32)
            expected = whole.train_on_batch(ids[:, :-1], ids[:, 1:])
            got = split.train_on_batch(ids[:, :-1], ids[:, 1:])
            assert np.isfinite(got)
            np.testing.assert_allclose(got, expected, rtol=1e-5)
        for a, b in zip(whole.trainable_variables, split.trainable_variables, strict=True):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6)
        assert int(split.optimizer.iterations.numpy()) == 3


def test_sharded_step_draws_distinct_dropout_masks() -> None:
    """Two identical rows in two shards: the same dropout mask in both would give both shards
    the same gradient; each shard must draw its own. Seed generators advance once per step."""
    import tensorflow as tf

    from chargen.model.build import _sharded_step

    _, split = _twins(2, dropout=0.5)
    split.optimizer.build(split.trainable_variables)
    row = np.random.default_rng(1).integers(0, 9, size=(1, 12)).astype(np.int32)
    ids = np.concatenate([row, row])
    seeds = [v.numpy().copy() for v in split.non_trainable_variables]
    before = [v.numpy().copy() for v in split.trainable_variables]
    step = _sharded_step(split, 2)
    tf.function(step)((tf.constant(ids[:, :-1]), tf.constant(ids[:, 1:])))
    moved = [v.numpy() - b for v, b in zip(split.trainable_variables, before, strict=True)]
    assert any(np.abs(m).max() > 0 for m in moved)
    for v, s in zip(split.non_trainable_variables, seeds, strict=True):
        np.testing.assert_array_equal(v.numpy(), s + [0, 1])
    # with one mask for both rows the shards' gradients would be equal: compare them directly
    values = [v.value for v in split.trainable_variables]
    seeds = [v.value for v in split.non_trainable_variables]
    x, y = tf.constant(ids[:, :-1]), tf.constant(ids[:, 1:])
    first, second = (
        step.shard_gradients(values, step.seeds_for(seeds, k), x[k : k + 1], y[k : k + 1], 22.0)
        for k in range(2)
    )
    assert not np.isclose(first[0].numpy(), second[0].numpy())  # losses
    assert not np.allclose(first[1][0].numpy(), second[1][0].numpy())  # embedding gradients


def test_shards_only_where_they_compute_the_same_step() -> None:
    """Without XLA, with stateful layers (their states change) or inside a distribution
    strategy, compile_model keeps Keras' single step."""
    import tensorflow as tf

    def shards(**kw: object) -> int:
        jit = kw.pop("jit", True)
        model = build_model(vocab_size=9, embedding_dim=4, units=8, layers=1, **kw)  # type: ignore[arg-type]
        compile_model(model, learning_rate=0.01, clip_norm=1.0, jit_compile=jit, shards=2)
        return model.shards  # type: ignore[attr-defined]

    assert shards() == 2
    with pytest.MonkeyPatch.context() as mp:  # one usable core: shards would only add work
        mp.setattr(os, "sched_getaffinity", lambda pid: {0})
        assert shards() == 1
    assert shards(jit=False) == 1
    assert shards(stateful_batch=4) == 1
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert shards() == 1
    plain = build_model(vocab_size=9, embedding_dim=4, units=8, layers=1, fused=False)
    compile_model(plain, learning_rate=0.01, clip_norm=1.0, jit_compile=True, shards=2)
    assert not hasattr(plain, "shards")
