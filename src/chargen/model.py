"""The stacked LSTM: Embedding -> N x LSTM (return_sequences) with dropout -> Dense logits."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras

from chargen import fast_layers
from chargen.errors import RunError


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
    return keras.Model(inputs, logits, name="chargen_lstm")


def model_kwargs(config: Any, vocab_size: int) -> dict[str, Any]:
    """The `build_model` arguments a config implies (everything but statefulness)."""
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
) -> None:
    """Adam with global-norm gradient clipping; cross-entropy on logits (no softmax layer).

    `jit_compile` is passed to Keras ("auto": XLA on accelerators, not on a CPU). A model
    compiled with XLA draws its dropout masks with ThreeFry (fast_layers.Dropout).
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=learning_rate, global_clipnorm=clip_norm if clip_norm > 0 else None
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    for layer in model.layers:
        if isinstance(layer, fast_layers.Dropout):
            layer.rng_alg = "threefry" if model.jit_compile is True else None


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
    *,
    vocab_size: int,
    embedding_dim: int,
    units: int,
    layers: int,
    weights: Path,
    layer_units: Sequence[int] | None = None,
    cell: str = "lstm",
    layer_norm: bool = False,
    fused: bool = False,
) -> keras.Model:
    """Rebuild the architecture from config values and load weights into it.

    Plain Keras layers by default (`fused=False`): a loaded model is exported and used outside
    chargen, where `keras.saving.load_model` must find every class without importing chargen.
    """
    model = build_model(
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        layers=layers,
        layer_units=layer_units,
        cell=cell,
        layer_norm=layer_norm,
        fused=fused,
    )
    load_weights(model, weights, vocab_size=vocab_size)
    return model
