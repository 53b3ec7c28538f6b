from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from chargen.data.vocab import Vocab
from chargen.errors import ConfigError, VocabError
from chargen.generation.sampler import CHUNK, SPLIT_BATCH, Sampler
from chargen.generation.steps import lstm_step, lstm_weights
from chargen.generation.strategy import Strategy, pick_next
from chargen.model.build import build_model

LOGITS = np.array([1.0, 2.0, 3.0, 0.5, -1.0], dtype=np.float32)
N = 40000


def _draw(strategy: Strategy, logits: np.ndarray = LOGITS, n: int = N, seed: int = 0) -> np.ndarray:
    batch = tf.constant(np.tile(logits, (n, 1)))
    t, k, p = strategy.tensors()
    ids = pick_next(batch, t, k, p, tf.constant(strategy.greedy), tf.constant([seed, 1]))
    return np.bincount(ids.numpy(), minlength=len(logits)) / n


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 1.7])
def test_temperature_sampling_matches_softmax(temperature: float) -> None:
    freq = _draw(Strategy(temperature=temperature))
    np.testing.assert_allclose(freq, _softmax(LOGITS / temperature), atol=0.012)


def test_argmax_and_top_k_1_always_pick_the_best() -> None:
    assert _draw(Strategy(temperature=0.0), n=100).tolist() == [0, 0, 1, 0, 0]
    assert _draw(Strategy(temperature=1.0, top_k=1), n=100).tolist() == [0, 0, 1, 0, 0]


def test_top_k_renormalises_over_the_k_best() -> None:
    freq = _draw(Strategy(temperature=1.0, top_k=2))
    expected = np.zeros(5)
    expected[[1, 2]] = _softmax(LOGITS[[1, 2]])
    np.testing.assert_allclose(freq, expected, atol=0.012)


def test_top_p_keeps_the_smallest_nucleus() -> None:
    logits = np.log(np.array([0.05, 0.3, 0.5, 0.15], dtype=np.float32))
    freq = _draw(Strategy(temperature=1.0, top_p=0.7), logits=logits)
    np.testing.assert_allclose(freq, [0, 0.3 / 0.8, 0.5 / 0.8, 0], atol=0.012)
    # p = 1 keeps everything
    np.testing.assert_allclose(
        _draw(Strategy(top_p=1.0), logits=logits), np.exp(logits), atol=0.012
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -0.1}, "temperature must be >= 0, got -0.1"),
        ({"top_k": 0}, "top_k must be at least 1, got 0"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\], got 0.0"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\], got 1.5"),
    ],
)
def test_bad_strategies(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Strategy(**kwargs)


@pytest.fixture(scope="module")
def random_model():
    keras.utils.set_random_seed(1)
    vocab = Vocab.from_text("abcdefgh .")
    model = build_model(vocab_size=len(vocab), embedding_dim=6, units=12, layers=2)
    # larger weights than the default init make the next-character distribution peaked
    for layer in model.layers:
        layer.set_weights([w * 3 for w in layer.get_weights()])
    return model, vocab


def test_stateful_steps_equal_running_the_full_sequence(random_model) -> None:
    model, vocab = random_model
    sampler = Sampler(model, vocab)
    seed = "abc def"
    text = sampler.generate(seed, CHUNK + 10, Strategy(temperature=0.0))[0]
    assert len(text) == CHUNK + 10
    full = seed + text
    logits = model(vocab.encode(full[:-1])[None, :]).numpy()[0]
    # every generated character is the argmax of the full-sequence model at that position
    picks = vocab.decode(logits[len(seed) - 1 :].argmax(-1))
    assert picks == text
    # and the primed state reproduces the full model's logits
    primed, _ = sampler._prime_fn(tf.constant(vocab.encode(seed)[None, :]))
    np.testing.assert_allclose(primed.numpy()[0], logits[len(seed) - 1], atol=1e-4)


def test_same_rng_seed_same_text_and_batch_samples_differ(random_model) -> None:
    model, vocab = random_model
    sampler = Sampler(model, vocab)
    a = sampler.generate("ab", 100, Strategy(temperature=1.0), num_samples=3, rng_seed=7)
    b = sampler.generate("ab", 100, Strategy(temperature=1.0), num_samples=3, rng_seed=7)
    c = sampler.generate("ab", 100, Strategy(temperature=1.0), num_samples=3, rng_seed=8)
    assert a == b
    assert a != c
    assert len(set(a)) == 3
    assert all(len(t) == 100 and set(t) <= set(vocab.chars) for t in a)


def test_stream_yields_chunks_that_add_up(random_model) -> None:
    model, vocab = random_model
    sampler = Sampler(model, vocab)
    length = 2 * CHUNK + 22
    parts = list(sampler.stream("a", length, Strategy(temperature=0.0)))
    assert [len(p[0]) for p in parts] == [CHUNK, CHUNK, 22]
    whole = sampler.generate("a", length, Strategy(temperature=0.0))[0]
    assert "".join(p[0] for p in parts) == whole


def test_seed_outside_vocabulary_is_named(random_model) -> None:
    model, vocab = random_model
    with pytest.raises(VocabError, match=r"seed has characters not in the vocabulary: 'X', 'z'"):
        next(Sampler(model, vocab).stream("aXz", 5, Strategy()))
    with pytest.raises(ConfigError, match="length must be at least 1, got 0"):
        next(Sampler(model, vocab).stream("a", 0, Strategy()))


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("first_layer", [False, True])
def test_lstm_step_matches_the_keras_cell(split: bool, first_layer: bool) -> None:
    """The sampler's step (table lookup, one sigmoid for all gates, column halves) computes
    what keras.layers.LSTMCell computes."""
    rng = np.random.default_rng(0)
    vocab, dim, units, batch = 7, 5, 8, 3
    cell = keras.layers.LSTMCell(units)
    cell.build((None, dim))
    cell.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in cell.get_weights()])
    embeddings = rng.normal(size=(vocab, dim)).astype(np.float32)
    ids = tf.constant([0, 4, 6])
    x = tf.gather(embeddings, ids)
    h = tf.constant(rng.normal(size=(batch, units)).astype(np.float32))
    c = tf.constant(rng.normal(size=(batch, units)).astype(np.float32))
    expected_h, (_, expected_c) = cell(x, [h, c])
    weights = lstm_weights(cell, embeddings if first_layer else None, split=split)
    assert weights["recurrent"].shape == ((2, units, 2 * units) if split else (units, 4 * units))
    got_h, got_c = lstm_step(ids if first_layer else x, h, c, weights)
    np.testing.assert_allclose(got_h.numpy(), expected_h.numpy(), atol=1e-5)
    np.testing.assert_allclose(got_c.numpy(), expected_c.numpy(), atol=1e-5)


def test_small_and_large_batches_generate_the_same_text(random_model) -> None:
    """One sample steps split weights, a batch above SPLIT_BATCH whole ones: same argmax text."""
    model, vocab = random_model
    sampler = Sampler(model, vocab)
    one = sampler.generate("abc", 40, Strategy(temperature=0.0))
    many = sampler.generate("abc", 40, Strategy(temperature=0.0), num_samples=SPLIT_BATCH + 1)
    assert many == one * (SPLIT_BATCH + 1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sampling_a_model_built_for_mixed_precision(cell: str) -> None:
    """Samples during `train --mixed-precision` come from a model whose layers compute in
    bfloat16; the sampler keeps its loop state in float32 and must still run."""
    from chargen.runtime import precision

    vocab = Vocab.from_text("abcdefgh .")
    with precision("bfloat16"):
        model = build_model(
            vocab_size=len(vocab), embedding_dim=6, units=12, layers=2, cell=cell, layer_norm=True
        )
        text = Sampler(model, vocab, jit_compile=False).generate("abc", 20, Strategy())[0]
    assert len(text) == 20 and set(text) <= set(vocab.chars)


@pytest.mark.parametrize(
    ("layer_units", "layer_norm", "stacked"),
    [((12, 7, 9), False, True), ((12, 12), True, False)],
)
def test_one_sample_follows_the_full_model_with_or_without_the_stacked_layout(
    layer_units: tuple[int, ...], layer_norm: bool, stacked: bool
) -> None:
    """One sample of plain LSTM layers steps stacked_weights (each layer's recurrent kernel
    joined with the matrix above it, odd widths padded); a LayerNormalization keeps the layer
    by layer step. Either way every argmax pick is the full model's over the whole text."""
    keras.utils.set_random_seed(3)
    vocab = Vocab.from_text("abcdefgh .")  # 10 characters: an odd width with 7 or 9 units
    model = build_model(
        vocab_size=len(vocab), embedding_dim=5, units=12, layers=len(layer_units),
        layer_units=layer_units, layer_norm=layer_norm,
    )  # fmt: skip
    for layer in model.layers:
        layer.set_weights([w * 3 for w in layer.get_weights()])
    sampler = Sampler(model, vocab)
    assert sampler._stacked is stacked
    seed = "ab cd"
    text = sampler.generate(seed, CHUNK + 5, Strategy(temperature=0.0))[0]
    logits = model(vocab.encode(seed + text[:-1])[None, :]).numpy()[0]
    assert vocab.decode(logits[len(seed) - 1 :].argmax(-1)) == text
    # the batch of two (layer by layer, unsplit) continues the same way
    assert sampler.generate(seed, 30, Strategy(temperature=0.0), num_samples=2) == [text[:30]] * 2


def test_stacked_step_matches_layer_by_layer_steps(random_model) -> None:
    """stacked_step's logits and states equal lstm_step's layer by layer plus the Dense."""
    from chargen.generation.steps import stacked_step, stacked_weights

    model, vocab = random_model
    sampler = Sampler(model, vocab)
    rng = np.random.default_rng(0)
    ids = tf.constant([1, 5])
    hs = [tf.constant(rng.normal(size=(2, u)).astype(np.float32)) for u in sampler._units]
    cs = [tf.constant(rng.normal(size=(2, u)).astype(np.float32)) for u in sampler._units]
    layers = stacked_weights(sampler._cells, sampler._embedding.embeddings, sampler._dense)
    parts = tuple(h @ layer["recurrent"] for h, layer in zip(hs, layers, strict=True))
    logits, got_h, got_c, _ = stacked_step(ids, tuple(cs), parts, layers)
    x = ids
    for i, cell in enumerate(sampler._cells):
        weights = lstm_weights(cell, sampler._embedding.embeddings if i == 0 else None)
        x, c = lstm_step(x, hs[i], cs[i], weights)
        np.testing.assert_allclose(got_h[i].numpy(), x.numpy(), atol=1e-5)
        np.testing.assert_allclose(got_c[i].numpy(), c.numpy(), atol=1e-5)
    np.testing.assert_allclose(logits.numpy(), sampler._dense(x).numpy(), atol=1e-4)
