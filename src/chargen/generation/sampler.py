"""Stateful generation: prime once, then one LSTM step per character inside compiled loops.

The tutorials re-run a whole window per generated character (O(window) work each). Here the
seed is fed once, the LSTM states are carried, and each compiled call generates CHUNK
characters for every sample in the batch, so the Python overhead is per chunk, not per character.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from chargen.data.vocab import Vocab
from chargen.errors import ConfigError, VocabError

# characters per compiled call: a fixed shape, so XLA compiles once. Each call costs about 1 ms
# of dispatch, so 256 steps keep that under 10% of a one-sample chunk on a CPU.
CHUNK = 256
# up to this many samples the matrices are split in halves (lstm_weights): 1.21-1.31x chars/s
# for one sample, 0.72x at 4, 0.82x at 16, 0.93x at 64 (same process); and, for a stack of
# plain LSTM layers, joined per layer (stacked_weights)
SPLIT_BATCH = 1


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """How the next character is picked from logits. temperature 0 means argmax."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or self.top_k == 1

    def tensors(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        return (
            tf.constant(max(self.temperature, 1e-6), tf.float32),
            tf.constant(self.top_k or 0, tf.int32),
            tf.constant(self.top_p or 1.0, tf.float32),
        )


def filter_logits(
    logits: tf.Tensor, temperature: tf.Tensor, top_k: tf.Tensor, top_p: tf.Tensor
) -> tf.Tensor:
    """Scale by 1/temperature, then mask everything outside the top-k and the top-p nucleus.

    Works on a batch [B, V] with k and p as tensors (0 and 1.0 disable them), so one compiled
    graph serves every strategy.
    """
    logits = tf.cast(logits, tf.float32) / temperature
    vocab = tf.shape(logits)[-1]
    ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    kth = tf.gather(ordered, k - 1, axis=-1)[:, None]
    probs = tf.nn.softmax(ordered, axis=-1)
    before = tf.cumsum(probs, axis=-1, exclusive=True)
    # keep the smallest prefix whose mass reaches top_p (the first token is always kept)
    in_nucleus = before < top_p
    pth = tf.reduce_min(tf.where(in_nucleus, ordered, ordered[:, :1]), axis=-1, keepdims=True)
    threshold = tf.maximum(kth, pth)
    return tf.where(logits >= threshold, logits, tf.fill(tf.shape(logits), -np.inf))


def pick_next(
    logits: tf.Tensor,
    temperature: tf.Tensor,
    top_k: tf.Tensor,
    top_p: tf.Tensor,
    greedy: tf.Tensor,
    seed: tf.Tensor,
) -> tf.Tensor:
    """Next ids [B] from logits [B, V]: argmax when `greedy`, else a stateless draw from `seed`.

    The draw is Gumbel-max (argmax of logits/T plus Gumbel noise), which samples exactly the
    softmax distribution with one elementwise pass. The sort behind top-k/top-p runs only when
    one of them is set: at a batch of 64 it would otherwise cost as much as the LSTM step.
    """
    scaled = tf.cast(logits, tf.float32) / temperature
    filtered = tf.cond(
        tf.logical_or(top_k > 0, top_p < 1.0),
        lambda: filter_logits(logits, temperature, top_k, top_p),
        lambda: scaled,
    )
    uniform = tf.random.stateless_uniform(
        tf.shape(filtered), seed=seed, minval=np.finfo(np.float32).tiny, maxval=1.0
    )
    drawn = tf.argmax(filtered - tf.math.log(-tf.math.log(uniform)), axis=-1, output_type=tf.int32)
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.where(greedy, best, drawn)


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
    the hand-offs to the second core: 1.12x chars/s for one sample (same process; 0.93x at 64
    samples, where the products are not split).
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


class Sampler:
    """Generates text from a trained model by stepping its LSTM cells with carried state."""

    def __init__(self, model: Any, vocab: Vocab, *, jit_compile: bool = True) -> None:
        import keras

        from chargen.model.build import recurrent_layers

        self.vocab = vocab
        self._embedding = model.get_layer("embedding")
        layers = recurrent_layers(model)
        self._cells = [layer.cell for layer in layers]
        names = {layer.name for layer in model.layers}
        # optional LayerNormalization after recurrent layer i is named norm_i
        self._norms = [
            model.get_layer(f"norm_{i}") if f"norm_{i}" in names else None
            for i in range(len(layers))
        ]
        self._dense = model.get_layer("logits")
        self._units = [cell.units for cell in self._cells]
        # an LSTM cell carries (h, c), a GRU cell only h
        self._n_states = [
            2 if isinstance(cell, keras.layers.LSTMCell) else 1 for cell in self._cells
        ]
        from chargen.model.fast_layers import standard_cell

        # plain LSTM layers straight into the logits: the layout of stacked_weights applies
        self._stacked = all(standard_cell(c) for c in self._cells) and not any(self._norms)
        self._prime_fn = tf.function(self._prime, reduce_retracing=True)
        self._jit = jit_compile
        self._chunk_fn = self._compile_chunk(jit_compile)

    def _compile_chunk(self, jit_compile: bool) -> Callable[..., Any]:
        return tf.function(self._chunk, jit_compile=jit_compile, reduce_retracing=True)

    def _weights(self, split: bool = False) -> list[dict[str, Any] | None]:
        """Per recurrent layer, the tensors of lstm_step, or None to call the Keras cell.

        Read from the variables inside each traced call (a sampler made during training sees
        the current weights); XLA computes them once per chunk, not once per character. `split`
        (a compiled loop of at most SPLIT_BATCH samples) stacks the matrices' column halves; the
        seed and uncompiled loops, where a batched product costs more than it saves, never do.
        """
        from chargen.model.fast_layers import standard_cell

        return [
            lstm_weights(cell, self._embedding.embeddings if i == 0 else None, split=split)
            if standard_cell(cell)
            else None
            for i, cell in enumerate(self._cells)
        ]

    def _step(
        self, ids: tf.Tensor, states: list[tf.Tensor], weights: list[dict[str, Any] | None]
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """One character for every sample. Outputs and states are float32 between layers: a
        model built under a mixed-precision policy (sampling during training) has Keras layers
        that compute in float16 or bfloat16, and the loops carry float32 states."""
        x = None
        new_states: list[tf.Tensor] = []
        at = 0
        for cell, n, norm, w in zip(self._cells, self._n_states, self._norms, weights, strict=True):
            if w is not None:
                x, c = lstm_step(ids if x is None else x, states[at], states[at + 1], w)
                cell_states = [x, c]
            else:
                if x is None:
                    x = self._embedding(ids, training=False)
                x, cell_states = cell(x, list(states[at : at + n]), training=False)
            if norm is not None:
                x = norm(x, training=False)
            x = tf.cast(x, tf.float32)
            new_states += [tf.cast(s, tf.float32) for s in cell_states]
            at += n
        return self._dense(x, training=False), new_states

    def _zero_states(self, batch: tf.Tensor) -> list[tf.Tensor]:
        return [
            tf.zeros([batch, u])
            for u, n in zip(self._units, self._n_states, strict=True)
            for _ in range(n)
        ]

    def _prime(self, seed_ids: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """Feed the seed [B, T] one step at a time; return the last logits and the states."""
        batch = tf.shape(seed_ids)[0]
        states = self._zero_states(batch)
        logits = tf.zeros([batch, len(self.vocab)])
        weights = self._weights()
        for t in tf.range(tf.shape(seed_ids)[1]):
            tf.autograph.experimental.set_loop_options(
                shape_invariants=[(logits, tf.TensorShape([None, None]))]
            )
            logits, states = self._step(seed_ids[:, t], states, weights)
        return logits, states

    def _chunk(
        self,
        logits: tf.Tensor,
        states: list[tf.Tensor],
        temperature: tf.Tensor,
        top_k: tf.Tensor,
        top_p: tf.Tensor,
        greedy: tf.Tensor,
        seed: tf.Tensor,
        offset: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """CHUNK steps of pick -> feed back, entirely inside one graph."""
        # the batch is static in a compiled loop
        split = self._jit and logits.shape[0] is not None and logits.shape[0] <= SPLIT_BATCH
        if split and self._stacked:
            return self._stacked_chunk(
                logits, states, (temperature, top_k, top_p, greedy), seed, offset
            )
        out = tf.TensorArray(tf.int32, size=CHUNK)
        weights = self._weights(split)
        for t in tf.range(CHUNK):
            step_seed = tf.stack([seed[0], seed[1] + offset + t])
            ids = pick_next(logits, temperature, top_k, top_p, greedy, step_seed)
            out = out.write(t, ids)
            logits, states = self._step(ids, states, weights)
        return tf.transpose(out.stack()), logits, states

    def _stacked_chunk(
        self,
        logits: tf.Tensor,
        states: list[tf.Tensor],
        strategy: tuple[tf.Tensor, ...],
        seed: tf.Tensor,
        offset: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """_chunk through stacked_step: one product per layer and step (stacked_weights)."""
        layers = stacked_weights(self._cells, self._embedding.embeddings, self._dense)
        hs, cs = tuple(states[0::2]), tuple(states[1::2])
        parts = tuple(h @ layer["recurrent"] for h, layer in zip(hs, layers, strict=True))

        def body(t: tf.Tensor, out: Any, logits: tf.Tensor, hs: Any, cs: Any, parts: Any) -> Any:
            ids = pick_next(logits, *strategy, tf.stack([seed[0], seed[1] + offset + t]))
            logits, hs, cs, parts = stacked_step(ids, cs, parts, layers)
            return t + 1, out.write(t, ids), logits, hs, cs, parts

        loop_vars = (tf.constant(0), tf.TensorArray(tf.int32, size=CHUNK), logits, hs, cs, parts)
        _, out, logits, hs, cs, _ = tf.while_loop(lambda t, *_: t < CHUNK, body, loop_vars)
        states = [s for h, c in zip(hs, cs, strict=True) for s in (h, c)]
        return tf.transpose(out.stack()), logits, states

    def stream(
        self,
        seed_text: str,
        length: int,
        strategy: Strategy,
        *,
        num_samples: int = 1,
        rng_seed: int = 0,
    ) -> Iterator[list[str]]:
        """Yield, chunk by chunk, the new text of each sample (seed excluded)."""
        if length < 1:
            raise ConfigError(f"length must be at least 1, got {length}")
        if not seed_text:
            raise VocabError("the seed text is empty; give at least one character")
        missing = self.vocab.missing(seed_text)
        if missing and self.vocab.unknown is None:
            shown = ", ".join(repr(c) for c in missing[:10])
            raise VocabError(f"seed has characters not in the vocabulary: {shown}")
        ids = self.vocab.encode(seed_text)
        seed_ids = tf.constant(np.tile(ids[None, :], (num_samples, 1)), tf.int32)
        logits, states = self._prime_fn(seed_ids)
        temperature, top_k, top_p = strategy.tensors()
        greedy = tf.constant(strategy.greedy)
        seed = tf.constant([rng_seed, 0], tf.int32)
        done = 0
        while done < length:
            chunk_ids, logits, states = self._chunk_fn(
                logits, states, temperature, top_k, top_p, greedy, seed, tf.constant(done, tf.int32)
            )
            take = min(CHUNK, length - done)
            arr = chunk_ids.numpy()[:, :take]
            yield [self.vocab.decode(row) for row in arr]
            done += take

    def generate(
        self,
        seed_text: str,
        length: int,
        strategy: Strategy,
        *,
        num_samples: int = 1,
        rng_seed: int = 0,
    ) -> list[str]:
        parts: list[list[str]] = list(
            self.stream(seed_text, length, strategy, num_samples=num_samples, rng_seed=rng_seed)
        )
        return ["".join(p[i] for p in parts) for i in range(num_samples)]
