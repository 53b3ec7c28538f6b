"""The stacked LSTM: Embedding -> N x LSTM (return_sequences) with dropout -> Dense logits."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from chargen.errors import RunError
from chargen.model import fast_layers


def build_model(
    *,
    vocab_size: int,
    embedding_dim: int,
    units: int,
    layers: int,
    dropout: float = 0.0,
    layer_units: Sequence[int] | None = None,
    cell: str = "lstm",
    stateful_batch: int | None = None,
    layer_norm: bool = False,
    fused: bool = True,
) -> keras.Model:
    """Many-to-many model: logits for the next character at every position.

    The LSTM layers keep Keras' defaults (tanh, sigmoid, no recurrent dropout, no unroll, bias),
    which is what lets Keras pick the cuDNN kernel on a CUDA GPU. Dropout is a separate layer
    between LSTMs for the same reason. Inputs are ids, never `id / vocab` floats.
    `stateful_batch` fixes the batch size and carries state from batch to batch (char-rnn
    style training); the weights are the same as the stateless model's. `fused` picks
    fast_layers.LSTM (same weights, input projection hoisted out of the time loop on CPU) and
    fast_layers.Dropout (cheaper masks) over the plain Keras layers; the benchmark compares them.
    """
    if stateful_batch is None:
        inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
    else:
        inputs = keras.Input(batch_shape=(stateful_batch, None), dtype="int32", name="ids")
    lstm = fast_layers.LSTM if fused else keras.layers.LSTM
    layer_type = {"lstm": lstm, "gru": keras.layers.GRU}[cell]
    # N(0, 1) like torch.nn.Embedding: Keras' U(-0.05, 0.05) starts every character nearly equal
    # and measurably slows early training (README, Performance)
    embed_init = keras.initializers.RandomNormal(stddev=1.0)
    x = keras.layers.Embedding(
        vocab_size, embedding_dim, embeddings_initializer=embed_init, name="embedding"
    )(inputs)
    sizes = list(layer_units) if layer_units else [units] * layers
    for i, size in enumerate(sizes):
        x = layer_type(
            size, return_sequences=True, stateful=stateful_batch is not None, name=f"{cell}_{i}"
        )(x)
        if layer_norm:  # outside the cell, so the cuDNN kernel still applies
            x = keras.layers.LayerNormalization(name=f"norm_{i}")(x)
        if dropout > 0:
            drop = fast_layers.Dropout if fused else keras.layers.Dropout
            x = drop(dropout, name=f"dropout_{i}")(x)
    # float32 logits keep the softmax and loss stable under a mixed-precision policy
    logits = keras.layers.Dense(vocab_size, name="logits", dtype="float32")(x)
    model_type = Model if fused else keras.Model
    return model_type(inputs, logits, name="chargen_lstm")


@keras.saving.register_keras_serializable(package="chargen")
class Model(keras.Model):
    """A functional model whose XLA training step can run as concurrent batch shards on a CPU.

    Why: in XLA's CPU code each LSTM time step is a handful of small kernels, and only the matmul
    among them uses more than one core. Split in two, a batch becomes two independent XLA
    computations that TensorFlow runs at the same time, one per core, and the gradients are
    summed: the same step (same loss, same gradients up to float rounding) in less time (README,
    Performance). `compile_model` sets `shards`; 1 keeps Keras' own single compiled step.
    """

    shards: int = 1

    def make_train_function(self, force: bool = False) -> Any:
        if self.shards < 2:
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        step = _sharded_step(self, self.shards)
        # The outer step only splits, sums and applies: it must stay an ordinary graph, or XLA
        # would compile the shards into one program and run them one after the other.
        jit, self._jit_compile = self._jit_compile, False
        try:
            self.train_function = self._make_function(step)
        finally:
            self._jit_compile = jit
        return self.train_function


def _sharded_step(model: Model, shards: int) -> Any:
    """The training step as `shards` XLA-compiled gradient computations plus one update.

    Each shard runs `stateless_call` on variable values it is given, so shards share no state
    and nothing orders them. Losses are summed per character and divided by the whole batch's
    count, so the summed gradients are exactly the full batch's mean (uneven or empty shards
    included). Dropout: shard k of step n draws with counter n * shards + k of each layer's seed
    generator, distinct masks for every shard and step; the generators then advance by one per
    step, as in Keras' own step.
    """
    trainable = model.trainable_variables
    state = model.non_trainable_variables
    scale = tf.constant([1, shards], dtype="int64")

    @tf.function(jit_compile=True)
    def shard_gradients(values: Any, seeds: Any, x: Any, y: Any, total: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(values)
            logits, _ = model.stateless_call(values, seeds, x, training=True)
            per_char = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
            loss = tf.reduce_sum(per_char) / total
        # dense: the embedding's gradient is IndexedSlices with a row per character of the shard
        return loss, [tf.convert_to_tensor(g) for g in tape.gradient(loss, values)]

    def seeds_for(seeds: Any, k: int) -> list[Any]:
        return [s * scale + tf.constant([0, k], dtype="int64") for s in seeds]

    @tf.function(jit_compile=True)
    def apply(gradients: Any) -> None:
        model.optimizer.apply(gradients, trainable)

    def step(data: Any) -> Any:
        x, y = data[0], data[1]
        batch = tf.shape(x)[0]
        sizes = tf.stack(
            [batch // shards + tf.cast(k < batch % shards, "int32") for k in range(shards)]
        )
        xs, ys = tf.split(x, sizes, num=shards), tf.split(y, sizes, num=shards)
        total = tf.cast(tf.size(y), "float32")
        values = [v.value for v in trainable]
        seeds = [v.value for v in state]
        losses, gradients = [], []
        for k in range(shards):
            loss, grads = shard_gradients(values, seeds_for(seeds, k), xs[k], ys[k], total)
            losses.append(loss)
            gradients.append(grads)
        for v in state:
            v.assign_add(tf.constant([0, 1], dtype="int64"))
        apply([tf.add_n(list(g)) for g in zip(*gradients, strict=True)])
        model._loss_tracker.update_state(tf.add_n(losses), sample_weight=batch)
        return model.get_metrics_result()

    step.shard_gradients, step.seeds_for = shard_gradients, seeds_for  # for tests
    return step


def model_kwargs(config: Any, vocab_size: int) -> dict[str, Any]:
    """The `build_model` arguments a config implies (everything but statefulness and the
    layer implementation): the one place a config becomes a model."""
    return {
        "vocab_size": vocab_size,
        "embedding_dim": config.embedding_dim,
        "units": config.units,
        "layers": config.layers,
        "dropout": config.dropout,
        "layer_units": config.layer_units,
        "cell": config.cell,
        "layer_norm": config.layer_norm,
    }


def compile_model(
    model: keras.Model,
    *,
    learning_rate: float,
    clip_norm: float,
    jit_compile: bool | str = "auto",
    shards: int = 1,
    optimizer: str = "adam",
    beta_2: float | None = None,
    weight_decay: float = 0.0,
) -> None:
    """Adam (or Nadam, Lion) with global-norm gradient clipping; cross-entropy on logits (no
    softmax layer). `weight_decay` is decoupled, as in AdamW, and spares biases and layer norm's
    parameters, which decay would only pull towards zero.

    `jit_compile` is passed to Keras ("auto": XLA on accelerators, not on a CPU). A model
    compiled with XLA draws its dropout masks with ThreeFry (fast_layers.Dropout). `shards` > 1
    splits each training batch into concurrent XLA steps (`Model`) where that computes the same
    step: a chargen `Model` compiled with XLA outside any distribution strategy and mixed
    precision, whose only changing state is dropout seeds (not stateful); never more shards
    than the process may use cores.
    """
    optimizers = keras.optimizers
    kind = {"adam": optimizers.Adam, "nadam": optimizers.Nadam, "lion": optimizers.Lion}[optimizer]
    own = {"beta_2": beta_2} if beta_2 is not None else {}
    opt = kind(
        learning_rate=learning_rate,
        global_clipnorm=clip_norm if clip_norm > 0 else None,
        weight_decay=weight_decay or None,
        **own,
    )
    opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(
        optimizer=opt,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    for layer in model.layers:
        if isinstance(layer, fast_layers.Dropout):
            layer.rng_alg = "threefry" if model.jit_compile is True else None
    if isinstance(model, Model):
        # shards run concurrently or not at all: more than the usable cores only adds work
        model.shards = min(shards, len(os.sched_getaffinity(0))) if _shardable(model) else 1


def _shardable(model: Model) -> bool:
    seeds = {
        id(layer.seed_generator.state)
        for layer in model._flatten_layers()
        if getattr(layer, "seed_generator", None) is not None
    }
    return (
        model.jit_compile is True
        and not tf.distribute.has_strategy()
        and keras.mixed_precision.global_policy().name == "float32"
        and all(id(v) in seeds for v in model.non_trainable_variables)
        # stateful layers keep their states outside the variables a shard is given
        and not any(getattr(layer, "stateful", False) for layer in model.layers)
    )


def recurrent_layers(model: keras.Model) -> list[Any]:
    """The LSTM/GRU layers in order; the sampler steps their cells one character at a time."""
    kinds = (keras.layers.LSTM, keras.layers.GRU)
    return [layer for layer in model.layers if isinstance(layer, kinds)]


def load_weights(model: keras.Model, path: Path, *, vocab_size: int) -> None:
    """Weights only (no pickled objects, no code); shape mismatches become a RunError."""
    if not path.is_file():
        raise RunError(f"weights file not found: {path}")
    try:
        with warnings.catch_warnings():  # Keras warns about each missing group, then raises
            warnings.simplefilter("ignore")
            model.load_weights(path)
    except (ValueError, OSError, KeyError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # Keras' mismatch message says which layer expected what on a later line
        detail = next((line for line in lines if " expected " in line), None)
        if detail is not None:
            raise RunError(
                f"cannot load weights {path}: they are not for the model in the run's config "
                f"({detail[:200]})"
            ) from exc
        first = lines[0] if lines else type(exc).__name__
        raise RunError(f"cannot load weights {path}: {first[:200]}") from exc
    out = model.get_layer("logits").units
    if out != vocab_size:
        raise RunError(
            f"{path}: model predicts {out} characters but the vocabulary has {vocab_size}"
        )


def load_trained(
    config: Any, vocab_size: int, weights: Path, *, fused: bool = False
) -> keras.Model:
    """Rebuild a run's architecture from its config (model_kwargs) and load weights into it.

    Plain Keras layers by default (`fused=False`): a loaded model is exported and used outside
    chargen, where `keras.saving.load_model` must find every class without importing chargen.
    """
    model = build_model(**model_kwargs(config, vocab_size), fused=fused)
    load_weights(model, weights, vocab_size=vocab_size)
    return model
