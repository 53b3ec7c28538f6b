"""Stateful generation in numpy: the sampler `chargen sample` uses on a CPU.

A step of a trained stack is a few small matrix products, which numpy's BLAS computes at
close to a compiled graph's speed (docs/performance.md, Sampling, says where the compiled loop
pulls ahead); what TensorFlow adds on a CPU is seconds of import, model building and
compilation before the first character. This sampler reads the weights with h5py and never
imports TensorFlow or Keras, so a sample starts in a fraction of a second.

It computes the distribution of the Keras layers (LSTM and GRU cells, layer norm, the logits
layer) in float32. Sampling draws from numpy's PCG64 generators, one per sample seeded with
(rng_seed, sample index): the same `rng_seed` gives the same text on this backend, sample i
the same whatever the number of samples, but not the text of the TensorFlow backend, whose
stateless draws come from another generator; argmax text is the same on both up to float
rounding ties.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from chargen.data.vocab import Vocab
from chargen.generation.base import TextSampler, encode_seed
from chargen.generation.strategy import Strategy

# characters per yielded piece: small enough that a streamed sample shows at once, large
# enough that decoding and writing cost nothing next to the steps
CHUNK = 64
# Keras' LayerNormalization default
NORM_EPSILON = 1e-3
# fewest samples a thread of their own pays for (docs/performance.md, The numpy sampler)
MIN_GROUP_ROWS = 16


class NumpySampler(TextSampler):
    """Same interface as generation.sampler.Sampler: `vocab`, `stream`, `generate`. `threads`
    threads step the samples, each its share with one BLAS thread (backend.sample_threads says
    why); None steps them all in one thread on the BLAS library's own pool."""

    def __init__(
        self,
        arrays: dict[str, Any],
        vocab: Vocab,
        *,
        cell: str = "lstm",
        threads: int | None = 1,
    ) -> None:
        self.vocab = vocab
        self.cell = cell
        self.threads = threads
        embedding = arrays["embedding"]
        norms = arrays["norms"] or [None] * len(arrays["recurrent"])
        self._layers = [
            _layout(cell, kernel, recurrent, bias, norm, embedding if i == 0 else None)
            for i, ((kernel, recurrent, bias), norm) in enumerate(
                zip(arrays["recurrent"], norms, strict=True)
            )
        ]
        self._dense_kernel, self._dense_bias = arrays["dense"]
        self._n_states = 2 if cell == "lstm" else 1

    # --- the model -------------------------------------------------------------------------

    def zero_states(self, batch: int) -> list[np.ndarray]:
        return [
            np.zeros((batch, layer["units"]), np.float32)
            for layer in self._layers
            for _ in range(self._n_states)
        ]

    def step(self, ids: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list]:
        """Logits [B, V] after feeding ids [B], and the new states."""
        x: Any = ids
        new: list[np.ndarray] = []
        n = self._n_states
        for i, layer in enumerate(self._layers):
            if n == 2:
                h, c = _lstm(x, states[2 * i], states[2 * i + 1], layer)
                new += (h, c)
            else:
                h = _gru(x, states[i], layer)
                new.append(h)
            x = _layer_norm(h, layer) if "gamma" in layer else h
        return x @ self._dense_kernel + self._dense_bias, new

    def next_logits(self, seed_text: str) -> np.ndarray:
        """The distribution's logits [V] after the seed: what the backends are compared on."""
        logits, _ = self._prime(encode_seed(self.vocab, seed_text)[None, :])
        return logits[0]

    def _prime(self, seed_ids: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        states = self.zero_states(seed_ids.shape[0])
        logits = np.zeros((seed_ids.shape[0], len(self.vocab)), np.float32)
        for t in range(seed_ids.shape[1]):
            logits, states = self.step(seed_ids[:, t], states)
        return logits, states

    # --- generation ------------------------------------------------------------------------

    def stream(
        self,
        seed_text: str,
        length: int,
        strategy: Strategy,
        *,
        num_samples: int = 1,
        rng_seed: int = 0,
    ) -> Iterator[list[str]]:
        """Yield, piece by piece, the new text of each sample (seed excluded)."""
        with self._blas_threads():
            yield from self._stream(seed_text, length, strategy, num_samples, rng_seed)

    def _blas_threads(self) -> AbstractContextManager[Any]:
        if self.threads is None:
            return nullcontext()
        return threadpool_limits(limits=1, user_api="blas")

    def groups(self, num_samples: int) -> list[range]:
        """The samples each thread steps: `threads` shares of at least MIN_GROUP_ROWS."""
        parts = 1 if self.threads is None else min(self.threads, num_samples // MIN_GROUP_ROWS)
        return shares(num_samples, max(1, parts))

    def _stream(
        self, seed_text: str, length: int, strategy: Strategy, num_samples: int, rng_seed: int
    ) -> Iterator[list[str]]:
        seed_ids = encode_seed(self.vocab, seed_text, length)[None, :]
        groups = [_Group(self, rows, strategy, rng_seed) for rows in self.groups(num_samples)]
        with ThreadPoolExecutor(len(groups)) if len(groups) > 1 else nullcontext() as pool:
            run = pool.map if pool is not None else map
            list(run(lambda group: group.prime(seed_ids), groups))
            done = 0
            while done < length:
                take = min(CHUNK, length - done)
                out = np.concatenate(list(run(_Group.advance, groups, [take] * len(groups))))
                yield [self.vocab.decode(row) for row in out]
                done += take


def shares(n: int, parts: int) -> list[range]:
    """`n` rows in `parts` consecutive shares whose sizes differ by at most one."""
    bounds = [n * k // parts for k in range(parts + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


class _Group:
    """Some samples of a stream, stepped together; groups run side by side on threads, since
    numpy lets go of the GIL in its products and elementwise passes."""

    def __init__(self, sampler: NumpySampler, rows: range, strategy: Strategy, rng_seed: int):
        self.sampler, self.rows = sampler, rows
        # one generator per sample: sample i is the same text whatever --num-samples
        self.rngs = [np.random.default_rng([rng_seed, i]) for i in rows]
        self.pick = _picker(strategy)
        self.logits: np.ndarray | None = None
        self.states: list[np.ndarray] = []

    def prime(self, seed_ids: np.ndarray) -> None:
        self.logits, self.states = self.sampler._prime(np.tile(seed_ids, (len(self.rows), 1)))

    def advance(self, take: int) -> np.ndarray:
        """The next `take` ids of each sample [rows, take]."""
        uniform = np.stack([rng.random(take) for rng in self.rngs], axis=1)
        out = np.empty((len(self.rows), take), np.int64)
        logits, states = self.logits, self.states
        for t in range(take):
            ids = self.pick(logits, uniform[t])
            out[:, t] = ids
            logits, states = self.sampler.step(ids, states)
        self.logits, self.states = logits, states
        return out


def _layout(
    cell: str,
    kernel: np.ndarray,
    recurrent: np.ndarray,
    bias: np.ndarray,
    norm: list[np.ndarray] | None,
    embedding: np.ndarray | None,
) -> dict[str, Any]:
    """One layer's arrays laid out for its step.

    The first layer's input projection of every character becomes a table looked up per step
    (embedding @ kernel + bias); above it, the input and recurrent kernels are stacked, so a
    step makes one product [x, h] @ [kernel; recurrent]. For an LSTM the columns of the sigmoid
    gates are halved, as sigmoid(z) = (tanh(z / 2) + 1) / 2: one tanh covers all four gates,
    where gate-wise calls would cost more than the product itself at one sample.
    """
    units = recurrent.shape[0]
    layer: dict[str, Any] = {"units": units}
    if cell == "lstm":
        half = np.repeat(np.float32([0.5, 0.5, 1.0, 0.5]), units)
        kernel, recurrent, bias = kernel * half, recurrent * half, bias * half
    else:  # Keras GRU, reset_after=True: an input and a recurrent bias
        bias, layer["recurrent_bias"] = bias[0], bias[1]
    if embedding is not None:
        layer["table"] = np.ascontiguousarray(embedding @ kernel + bias, np.float32)
        layer["recurrent"] = np.ascontiguousarray(recurrent, np.float32)
    elif cell == "lstm":
        layer["stacked"] = np.ascontiguousarray(np.concatenate([kernel, recurrent]), np.float32)
        layer["bias"] = bias
    else:
        layer["kernel"], layer["bias"] = np.ascontiguousarray(kernel, np.float32), bias
        layer["recurrent"] = np.ascontiguousarray(recurrent, np.float32)
    if norm is not None:
        layer["gamma"], layer["beta"] = norm
    return layer


def _lstm(
    x: np.ndarray, h: np.ndarray, c: np.ndarray, layer: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """keras.layers.LSTMCell: gates i, f, c, o; tanh and sigmoid. `x` is ids [B] for the
    first layer (its projection is a table), else inputs [B, D]."""
    if "table" in layer:
        z = h @ layer["recurrent"]
        z += layer["table"][x]
    else:
        z = np.concatenate([x, h], axis=1) @ layer["stacked"]
        z += layer["bias"]
    np.tanh(z, out=z)  # tanh(z / 2) on the sigmoid gates (halved in _layout)
    u = layer["units"]
    i, f, g, o = z[:, :u], z[:, u : 2 * u], z[:, 2 * u : 3 * u], z[:, 3 * u :]
    i += 1
    f += 1
    o += 1  # now 2 sigmoid: the halves are applied once, below
    c = f * c
    c += i * g
    c *= 0.5
    h = np.tanh(c)
    h *= o
    h *= 0.5
    return h, c


def _gru(x: np.ndarray, h: np.ndarray, layer: dict[str, Any]) -> np.ndarray:
    """keras.layers.GRUCell with reset_after=True (Keras' default and cuDNN's): gates z, r, h."""
    xz = layer["table"][x] if "table" in layer else x @ layer["kernel"] + layer["bias"]
    inner = h @ layer["recurrent"] + layer["recurrent_bias"]
    u = layer["units"]
    gates = _sigmoid(xz[:, : 2 * u] + inner[:, : 2 * u])
    z, r = gates[:, :u], gates[:, u:]
    candidate = np.tanh(xz[:, 2 * u :] + r * inner[:, 2 * u :])
    return z * h + (1 - z) * candidate


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # through tanh: no overflow warning for large negative z
    return 0.5 * np.tanh(0.5 * z) + 0.5


def _layer_norm(x: np.ndarray, layer: dict[str, Any]) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + NORM_EPSILON) * layer["gamma"] + layer["beta"]


def filter_logits(logits: np.ndarray, strategy: Strategy) -> np.ndarray:
    """Scaled by 1/temperature, -inf outside the top-k and the top-p nucleus (the rules of
    strategy.filter_logits: ties at the threshold are kept, the first character always)."""
    scaled = logits.astype(np.float64) / max(strategy.temperature, 1e-6)
    if strategy.top_k is None and strategy.top_p is None:
        return scaled
    ordered = -np.sort(-scaled, axis=-1)
    vocab = scaled.shape[-1]
    k = min(strategy.top_k or vocab, vocab)
    threshold = ordered[:, k - 1 : k]
    if strategy.top_p is not None and strategy.top_p < 1:
        probs = np.exp(ordered - ordered[:, :1])
        probs /= probs.sum(axis=-1, keepdims=True)
        before = np.cumsum(probs, axis=-1) - probs
        inside = before < strategy.top_p
        pth = np.where(inside, ordered, ordered[:, :1]).min(axis=-1, keepdims=True)
        threshold = np.maximum(threshold, pth)
    return np.where(scaled >= threshold, scaled, -np.inf)


def _picker(strategy: Strategy) -> Any:
    """Next ids [B] from logits [B, V] and uniforms [B]: argmax, or a draw by inverse CDF of
    the softmax."""
    if strategy.greedy:
        return lambda logits, uniform: logits.argmax(axis=-1)
    filtered = strategy.top_k is not None or strategy.top_p is not None
    inverse = 1.0 / max(strategy.temperature, 1e-6)

    def draw(logits: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        scaled = filter_logits(logits, strategy) if filtered else logits * inverse
        probs = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
        cdf = np.cumsum(probs, axis=-1)
        u = uniform * cdf[:, -1]
        if logits.shape[0] == 1:
            return np.minimum(np.searchsorted(cdf[0], u, side="right"), cdf.shape[1] - 1)
        return np.minimum((cdf <= u[:, None]).sum(axis=-1), cdf.shape[1] - 1)

    return draw
