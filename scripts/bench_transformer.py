"""A small character transformer for the benchmark's quality section: nanoGPT's recipe in Keras.

nanoGPT's published configurations for tiny Shakespeare: on a CPU 4 layers x 128 wide, 4 heads,
block 64, batch 12, dropout 0; on a GPU 6 x 384, 6 heads, block 256, batch 64, dropout 0.2.
AdamW (betas 0.9 / 0.99, weight decay 0.1), gradient clip 1.0, a linear warm-up and a cosine
decay to a tenth of the rate, both sized to the time budget, as its train.py sizes them to
its iteration count. Pre-norm blocks with GELU MLPs and the output layer tied to the token
embedding, as in nanoGPT's model.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Ids = np.ndarray


@dataclass(frozen=True)
class GPTConfig:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block: int = 64
    batch: int = 12
    dropout: float = 0.0
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.02


CPU = GPTConfig()
GPU = GPTConfig(n_layer=6, n_head=6, n_embd=384, block=256, batch=64, dropout=0.2)


def transformer_model(vocab_size: int, cfg: GPTConfig) -> Any:
    import keras

    ids = keras.Input(shape=(cfg.block,), dtype="int32")
    embed = keras.layers.Embedding(vocab_size, cfg.n_embd, name="wte")
    pos = keras.layers.Embedding(cfg.block, cfg.n_embd, name="wpe")
    positions = keras.ops.arange(cfg.block)
    x = embed(ids) + pos(positions)[None]
    x = keras.layers.Dropout(cfg.dropout)(x)
    for _ in range(cfg.n_layer):
        h = keras.layers.LayerNormalization(epsilon=1e-5)(x)
        h = keras.layers.MultiHeadAttention(
            cfg.n_head, cfg.n_embd // cfg.n_head, dropout=cfg.dropout
        )(h, h, use_causal_mask=True)
        x = x + keras.layers.Dropout(cfg.dropout)(h)
        h = keras.layers.LayerNormalization(epsilon=1e-5)(x)
        h = keras.layers.Dense(4 * cfg.n_embd, activation="gelu")(h)
        h = keras.layers.Dense(cfg.n_embd)(h)
        x = x + keras.layers.Dropout(cfg.dropout)(h)
    x = keras.layers.LayerNormalization(epsilon=1e-5)(x)
    logits = keras.ops.matmul(x, keras.ops.transpose(embed.embeddings))  # tied output layer
    return keras.Model(ids, logits)


def _windows(ids: Ids, block: int, batch: int, rng: np.random.Generator) -> tuple[Ids, Ids]:
    starts = rng.integers(0, len(ids) - block - 1, batch)
    x = np.stack([ids[s : s + block] for s in starts]).astype(np.int32)
    y = np.stack([ids[s + 1 : s + block + 1] for s in starts]).astype(np.int32)
    return x, y


def transformer_train(
    model: Any,
    ids: Ids,
    cfg: GPTConfig,
    *,
    seconds: float,
    seed: int = 0,
    every: float | None = None,
    score: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Train for `seconds` of wall time; the schedule follows the fraction of time spent.
    With `score`, a curve point every `every` seconds and at the end, scored with the clock
    stopped."""
    import keras
    import tensorflow as tf

    optimizer = keras.optimizers.AdamW(
        learning_rate=cfg.learning_rate, weight_decay=0.1, beta_1=0.9, beta_2=0.99,
        global_clipnorm=1.0,
    )  # fmt: skip
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(jit_compile=True)
    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    rng = np.random.default_rng(seed)
    step(*_windows(ids, cfg.block, cfg.batch, rng))  # compile outside the budget's clock
    start, steps, curve = time.perf_counter(), 0, []
    mark = every if score is not None and every else math.inf
    while (used := (time.perf_counter() - start) / seconds) < 1.0:
        if used * seconds >= mark:
            paused = time.perf_counter()
            curve.append([mark, score()])  # type: ignore[misc]
            start += time.perf_counter() - paused
            mark += every  # type: ignore[operator]
        if used < cfg.warmup_fraction:
            scale = used / cfg.warmup_fraction
        else:
            rest = (used - cfg.warmup_fraction) / (1 - cfg.warmup_fraction)
            scale = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * rest))
        optimizer.learning_rate.assign(cfg.learning_rate * scale)
        step(*_windows(ids, cfg.block, cfg.batch, rng))
        steps += 1
    if score is not None:
        curve.append([seconds, score()])
    return {
        "steps": steps,
        "chars_per_s": steps * cfg.batch * cfg.block / seconds,
        "curve": curve,
    }


def transformer_bpc(model: Any, ids: Ids, cfg: GPTConfig, *, batches: int = 50) -> float:
    """Bits per character over `batches` x 64 random validation blocks, every position
    scored (short contexts included, as nanoGPT's estimate_loss scores them)."""
    import keras

    rng = np.random.default_rng(1)
    total = 0.0
    for _ in range(batches):
        x, y = _windows(ids, cfg.block, 64, rng)
        logits = model(x, training=False)
        losses = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        total += float(keras.ops.mean(losses))
    return total / batches / math.log(2)
