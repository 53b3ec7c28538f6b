"""Accuracy of a trained autoencoder on its held-out words or another corpus' words, clean and
with deleted characters, and how well the thought vectors of word pairs line up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chargen.autoencoder.reconstruct import Trained, encode, prepare_words
from chargen.autoencoder.score import Arrays, forward_fn, measure
from chargen.errors import UsageProblem


@dataclass(frozen=True)
class Score:
    noise: float
    words: int
    words_right: int
    chars: int
    chars_right: int
    loss: float

    @property
    def word_accuracy(self) -> float:
        return self.words_right / self.words if self.words else 0.0

    @property
    def char_accuracy(self) -> float:
        return self.chars_right / self.chars if self.chars else 0.0


@dataclass(frozen=True)
class EvalWords:
    words: list[str]
    skipped_unknown: int  # distinct words with characters outside the run's vocabulary
    skipped_long: int  # distinct words longer than max_word_len
    seen: int  # of `words`, how many the run trained on


def select_words(trained: Trained, tokens: Sequence[str], train_words: set[str]) -> EvalWords:
    """Distinct words of another corpus that this run can read, and what was left out."""
    lower = trained.config.lowercase
    types = sorted({t.lower() if lower else t for t in tokens})
    if not types:
        raise UsageProblem("the corpus has no words after tokenizing (NLTK \\w+)")
    known = set(trained.vocab.chars)
    readable = [w for w in types if set(w) <= known]
    fitting = [w for w in readable if len(w) <= trained.config.max_word_len]
    if not fitting:
        raise UsageProblem("no word of the corpus fits the run's vocabulary and max_word_len")
    seen = sum(w in train_words for w in fitting)
    return EvalWords(fitting, len(types) - len(readable), len(readable) - len(fitting), seen)


def score_words(trained: Trained, words: list[str], noises: Sequence[float]) -> list[Score]:
    """Exact-word and per-character accuracy (teacher forcing, padding excluded) at each noise
    level; each level draws its deletions from a fixed seed, so scores repeat exactly."""
    if not words:
        raise UsageProblem("no words to evaluate")
    data = Arrays.of(words, trained.vocab)
    forward = forward_fn(trained.parts)
    out = []
    for noise in noises:
        if not 0.0 <= noise < 1.0:
            raise UsageProblem(f"--noise must be in [0, 1), got {noise}")
        loss, c = measure(forward, data, noise=noise, rng=np.random.default_rng(1))
        out.append(Score(noise, c.word_total, c.words, c.char_total, c.chars, loss))
    return out


@dataclass(frozen=True)
class PairAlignment:
    pairs: list[tuple[str, str]]
    pair_cosine: float  # mean cosine between the offsets of the given pairs
    random_cosine: float  # the same for random pairs of training words


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """`dog:dogs,cat:cats` -> [("dog", "dogs"), ("cat", "cats")]."""
    pairs = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        a, sep, b = item.partition(":")
        if not sep or not a or not b or ":" in b:
            raise UsageProblem(f"--pairs wants word:word items separated by commas, got {item!r}")
        pairs.append((a, b))
    if len(pairs) < 2:
        raise UsageProblem("--pairs needs at least two pairs to compare their offsets")
    return pairs


def mean_offset_cosine(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> float:
    """Mean cosine between every two of the offsets b[i] - a[i]."""
    off = b - a
    unit = off / np.maximum(np.linalg.norm(off, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    upper = np.triu_indices(len(off), k=1)
    return float(sim[upper].mean())


def pair_alignment(
    trained: Trained, pairs: list[tuple[str, str]], pool: Sequence[str], *, seed: int = 0
) -> PairAlignment:
    """Offsets of related pairs (dog->dogs, cat->cats) against as many random pairs of words."""
    firsts = prepare_words(trained, [p[0] for p in pairs], skip_unknown=False)
    seconds = prepare_words(trained, [p[1] for p in pairs], skip_unknown=False)
    va, vb = encode(trained, firsts), encode(trained, seconds)
    if len(pool) < 2:
        raise UsageProblem("the run has too few words to draw random pairs from")
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(pool), size=(max(len(pairs), 50), 2))
    ra = encode(trained, [pool[i] for i in draws[:, 0]])
    rb = encode(trained, [pool[i] for i in draws[:, 1]])
    return PairAlignment(pairs, mean_offset_cosine(va, vb), mean_offset_cosine(ra, rb))
