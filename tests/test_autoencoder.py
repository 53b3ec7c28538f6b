"""The autoencoder's core: word split, symbols, noise, masked loss and metrics, decoding."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from chargen.autoencoder.config import AutoencoderConfig, load_autoencoder_config
from chargen.autoencoder.model import count_correct, masked_loss
from chargen.autoencoder.words import (
    END,
    PAD,
    START,
    decode_symbols,
    decoder_arrays,
    delete_chars,
    encode_words,
    split_words,
    words_vocab,
)
from chargen.config import PRESETS_DIR, autoencoder_preset_names, load_config, preset_names
from chargen.errors import ConfigError, CorpusError
from tests.conftest import shipped

HAMLET = shipped().hamlet
TOKENS = ["to", "be", "or", "not", "to", "be", "that", "is", "the", "question"] * 3 + [
    f"w{i}" for i in range(30)
]


def test_split_holds_out_whole_word_types_by_seed() -> None:
    split = split_words(TOKENS, max_word_len=20, val_fraction=0.1, seed=0)
    types = set(TOKENS)
    assert set(split.train).isdisjoint(split.val)
    assert set(split.train) | set(split.val) == types
    assert len(split.val) == round(len(types) * 0.1) == 4
    assert split.tokens == len(TOKENS)
    assert split.train_counts[split.train.index("to")] == 6
    again = split_words(TOKENS, max_word_len=20, val_fraction=0.1, seed=0)
    other = split_words(TOKENS, max_word_len=20, val_fraction=0.1, seed=1)
    assert again.val == split.val
    assert other.val != split.val


def test_split_skips_and_counts_long_words() -> None:
    split = split_words(["a", "bb", "question"], max_word_len=2, val_fraction=0.5, seed=0)
    assert split.too_long == 1
    assert sorted(split.train + split.val) == ["a", "bb"]


def test_split_refuses_no_words_and_only_long_words() -> None:
    with pytest.raises(CorpusError, match=r"no words after tokenizing"):
        split_words([], max_word_len=20, val_fraction=0.1, seed=0)
    with pytest.raises(CorpusError, match=r"every word is longer than max_word_len \(3\)"):
        split_words(["question", "nobler"], max_word_len=3, val_fraction=0.1, seed=0)


def test_symbols_pad_start_end() -> None:
    vocab = words_vocab(["abc", "b"])
    chars = encode_words(["abc", "b"], vocab)
    assert chars.tolist() == [[3, 4, 5], [4, 0, 0]]
    assert encode_words(["abc"], vocab, reverse=True).tolist() == [[5, 4, 3]]
    dec, target = decoder_arrays(chars)
    assert dec.tolist() == [[START, 3, 4, 5], [START, 4, PAD, PAD]]
    assert target.tolist() == [[3, 4, 5, END], [4, END, PAD, PAD]]
    assert decode_symbols([4, 3, END, 5], vocab) == "ba"


def test_noise_deletes_characters_in_order_and_keeps_one() -> None:
    vocab = words_vocab(["question", "to"])
    chars = encode_words(["question", "to", "question"], vocab)
    rng = np.random.default_rng(0)
    assert np.array_equal(delete_chars(chars, 0.0, rng), chars)
    noisy = delete_chars(chars, 0.9, rng)
    for clean, out in zip(["question", "to", "question"], noisy, strict=True):
        word = decode_symbols([s for s in out if s != PAD], vocab)
        assert 1 <= len(word) <= len(clean)
        assert _subsequence(word, clean)
        real = out != PAD
        assert not (~real[:-1] & real[1:]).any()  # padding only on the right
    assert (noisy != PAD).sum() < (chars != PAD).sum()


def _subsequence(part: str, whole: str) -> bool:
    it = iter(whole)
    return all(c in it for c in part)


def test_noise_changes_inputs_but_not_targets() -> None:
    from chargen.autoencoder.train import Arrays

    words = ["question", "nobler", "slings"]
    data = Arrays.of(words, words_vocab(words))
    idx = np.arange(3)
    enc0, dec0, tgt0 = data.batch(idx, 0.0, np.random.default_rng(0))
    enc1, dec1, tgt1 = data.batch(idx, 0.5, np.random.default_rng(0))
    assert np.array_equal(tgt0, tgt1) and np.array_equal(dec0, dec1)
    assert (enc1 != PAD).sum() < (enc0 != PAD).sum()


def test_masked_loss_ignores_padding() -> None:
    target = np.array([[3, 4, END, PAD, PAD], [3, END, PAD, PAD, PAD]], dtype=np.int32)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 6)).astype(np.float32)
    changed = logits.copy()
    changed[target == PAD] = 100.0 * rng.normal(size=(int((target == PAD).sum()), 6))
    loss = float(masked_loss(target, logits))
    assert float(masked_loss(target, changed)) == pytest.approx(loss, rel=1e-6)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    real = np.argwhere(target != PAD)
    by_hand = -np.mean([logp[i, t, target[i, t]] for i, t in real])
    assert loss == pytest.approx(by_hand, rel=1e-5)


def test_counts_exclude_padding() -> None:
    target = np.array([[3, 4, END], [3, END, PAD]], dtype=np.int32)
    guess = np.array([[3, 4, END], [3, END, 7]])  # the padded position is "wrong": not counted
    logits = np.eye(8)[guess]
    c = count_correct(target, logits)
    assert (c.chars, c.char_total, c.words, c.word_total) == (5, 5, 2, 2)
    guess[0, 1] = 5
    c = count_correct(target, np.eye(8)[guess])
    assert (c.chars, c.words, c.word_accuracy) == (4, 1, 0.5)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"noise must be in \[0, 1\), got 1.0"):
        AutoencoderConfig(noise=1.0)
    with pytest.raises(ConfigError, match=r"unknown config key 'layers'"):
        AutoencoderConfig.from_dict({"layers": 2})
    with pytest.raises(ConfigError, match=r"thought_dim must be at least 1"):
        AutoencoderConfig(thought_dim=0)


def test_presets_load_apart_from_the_language_model_presets() -> None:
    assert autoencoder_preset_names() == ["autoencoder", "autoencoder-noise"]
    assert not set(autoencoder_preset_names()) & set(preset_names())
    assert load_autoencoder_config("autoencoder").noise == 0.0
    noisy = load_autoencoder_config("autoencoder-noise")
    assert (noisy.noise, noisy.frequency_weighted) == (0.25, True)
    with pytest.raises(ConfigError, match=r"'autoencoder' is an autoencoder preset"):
        load_config("autoencoder")
    for name in autoencoder_preset_names():
        text = (PRESETS_DIR / f"{name}.toml").read_text(encoding="utf-8")
        assert text.startswith(f"# {name}: ")
        config = load_autoencoder_config(name)
        assert AutoencoderConfig.from_dict(json.loads(config.to_json())) == config


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A 16-unit model, 2 epochs on the Hamlet excerpt: untrained-ish, enough for shapes."""
    from chargen.autoencoder.reconstruct import load_trained
    from chargen.autoencoder.run import start_run
    from chargen.autoencoder.train import train_autoencoder
    from chargen.text.clean import CleanOptions

    base = tmp_path_factory.mktemp("ae")
    # NLTK reads NLTK_DATA once, when first imported: this may be the session's first import
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("NLTK_DATA", str(shipped().nltk_data))
    config = AutoencoderConfig(units=16, embedding_dim=8, epochs=2, batch_size=32)
    started = start_run(
        config,
        [str(HAMLET)],
        CleanOptions(lowercase=True),
        data_dir=base / "data",
        mirror=None,
        runs_root=base / "runs",
        run_dir=base / "run",
    )
    train_autoencoder(started.run)
    monkeypatch.undo()
    return load_trained(base / "run", base / "runs")


def test_reconstruct_keeps_the_text_between_words(trained) -> None:
    from chargen.autoencoder.reconstruct import reconstruct_text

    text = "To be, or not to be -- that is\n  the Question:\n"
    out, found = reconstruct_text(trained, text)
    assert len(found) == 10
    assert re.split(r"\w+", out) == re.split(r"\w+", text)
    assert [r.input for r in found][:3] == ["To", "be", "or"]
    assert all(r.log_prob <= 0.0 for r in found)


def test_beam_finds_at_least_the_greedy_log_probability(trained) -> None:
    from chargen.autoencoder.reconstruct import reconstruct_words

    words = ["question", "be", "nobler", "slings"]
    greedy = reconstruct_words(trained, words, beam=1)
    beam = reconstruct_words(trained, words, beam=4)
    for g, b in zip(greedy, beam, strict=True):
        assert b.log_prob >= g.log_prob - 1e-4


def test_encode_gives_one_thought_per_word(trained) -> None:
    from chargen.autoencoder.reconstruct import encode

    thoughts = encode(trained, ["to", "be", "question"])
    assert thoughts.shape == (3, 32)  # [h, c] of 16 units
    assert np.isfinite(thoughts).all()


def test_offsets_of_identical_pairs_align(trained) -> None:
    from chargen.autoencoder.evaluate import mean_offset_cosine

    a = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    assert mean_offset_cosine(a, a + [1.0, 0.0]) == pytest.approx(1.0)
    assert mean_offset_cosine(a[:2], a[:2] + [[1.0, 0.0], [-1.0, 0.0]]) == pytest.approx(-1.0)


def test_words_json_is_the_split(trained) -> None:
    from chargen.autoencoder.run import read_words

    train, val = read_words(trained.run)
    assert set(train).isdisjoint(val)
    assert len(train) + len(val) == 300
    assert Path(trained.run.path / "words.json").is_file()


def test_thought_dim_is_a_bottleneck() -> None:
    from chargen.autoencoder.model import build_autoencoder

    parts = build_autoencoder(n_symbols=10, units=16, embedding_dim=4, thought_dim=5)
    ids = np.array([[3, 4, 5], [6, 0, 0]], dtype=np.int32)
    thought = np.asarray(parts.encoder(ids))
    assert thought.shape == (2, 5)
    h, c = (np.asarray(s) for s in parts.initial_state(thought))
    assert h.shape == c.shape == (2, 16)
    logits = parts.model([ids, np.array([[1, 3, 4, 5], [1, 6, 0, 0]], dtype=np.int32)])
    assert tuple(logits.shape) == (2, 4, 10)
    plain = build_autoencoder(n_symbols=10, units=16, embedding_dim=4, thought_dim=None)
    assert tuple(plain.encoder(ids).shape) == (2, 32)


def test_padding_does_not_change_the_thought_vector() -> None:
    from chargen.autoencoder.model import build_autoencoder

    parts = build_autoencoder(n_symbols=10, units=8, embedding_dim=4, thought_dim=None)
    short = np.asarray(parts.encoder(np.array([[3, 4]], dtype=np.int32)))
    padded = np.asarray(parts.encoder(np.array([[3, 4, 0, 0, 0]], dtype=np.int32)))
    np.testing.assert_allclose(short, padded, rtol=1e-5, atol=1e-6)
