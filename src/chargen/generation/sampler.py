"""Stateful generation: prime once, then one LSTM step per character inside compiled loops.

The tutorials re-run a whole window per generated character (O(window) work each). Here the
seed is fed once, the LSTM states are carried, and each compiled call generates CHUNK
characters for every sample in the batch, so the Python overhead is per chunk, not per character.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf

from chargen.data.vocab import Vocab
from chargen.generation.base import TextSampler, encode_seed
from chargen.generation.steps import lstm_step, lstm_weights, stacked_step, stacked_weights
from chargen.generation.strategy import Strategy, pick_next

# characters per compiled call: a fixed shape, so XLA compiles once, and enough steps per call
# that its dispatch cost is small beside a one-sample chunk on a CPU (docs/performance.md).
CHUNK = 256
# up to this many samples the matrices are split in column halves (steps.lstm_weights) and, for
# a stack of plain LSTM layers, joined per layer (steps.stacked_weights): faster for one sample,
# slower from a few samples on (docs/performance.md, Sampling)
SPLIT_BATCH = 1


class Sampler(TextSampler):
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
        strategy = (temperature, top_k, top_p, greedy)
        if split and self._stacked:
            return self._stacked_chunk(logits, states, strategy, seed, offset)
        return self._steps(logits, states, strategy, seed, offset, CHUNK, self._weights(split))

    def _steps(
        self,
        logits: tf.Tensor,
        states: list[tf.Tensor],
        strategy: tuple[tf.Tensor, ...],
        seed: tf.Tensor,
        offset: tf.Tensor,
        count: Any,
        weights: list[dict[str, Any] | None],
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """`count` steps of pick -> feed back: ids [B, count], the last logits and states."""
        out = tf.TensorArray(tf.int32, size=count)
        for t in tf.range(count):
            ids = pick_next(logits, *strategy, tf.stack([seed[0], seed[1] + offset + t]))
            out = out.write(t, ids)
            new_logits, new_states = self._step(ids, states, weights)
            # the loop's shapes stay as they came in (a batch of 1 stays static in a graph)
            logits = tf.ensure_shape(new_logits, logits.shape)
            states = [tf.ensure_shape(n, s.shape) for n, s in zip(new_states, states, strict=True)]
        return tf.transpose(out.stack()), logits, states

    def generate_ids(
        self,
        seed_ids: tf.Tensor,
        length: tf.Tensor,
        strategy: tuple[tf.Tensor, ...],
        seed: tf.Tensor,
    ) -> tf.Tensor:
        """Ids [B, length] after the seed ids [B, T], inside the caller's graph and uncompiled:
        the loop of a graph that generates without Python (an exported SavedModel).
        `strategy` is (temperature, top_k, top_p, greedy) as tensors."""
        logits, states = self._prime(seed_ids)
        zero = tf.constant(0)
        ids, _, _ = self._steps(logits, states, strategy, seed, zero, length, self._weights())
        return ids

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
        ids = encode_seed(self.vocab, seed_text, length)
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
