"""Words for the autoencoder: tokens from a corpus, a validation split of word types, ids with
start/end/padding symbols, and the character-deletion noise of the denoising variant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chargen.data.vocab import Vocab
from chargen.errors import CorpusError, VocabError
from chargen.text.words import tokenizer

# Model symbols: 0 pads (and is masked everywhere), 1 starts and 2 ends a word; the character
# with vocabulary id i is symbol i + FIRST_CHAR, so the run's vocab.json stays a plain Vocab.
PAD, START, END = 0, 1, 2
FIRST_CHAR = 3


@dataclass(frozen=True)
class WordSplit:
    """Distinct training and validation words, and what tokenizing found."""

    train: list[str]
    val: list[str]
    tokens: int  # word tokens in the corpus
    too_long: int  # distinct words skipped for being longer than max_word_len
    train_counts: list[int]  # tokens of each training word in the corpus


def tokenize(text: str) -> list[str]:
    """NLTK's `RegexpTokenizer(r"\\w+")`, as the classic tutorials extract words."""
    return tokenizer()(text)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Where each word of `text` starts and ends, so the text between words can be kept."""
    from nltk.tokenize import RegexpTokenizer

    return list(RegexpTokenizer(r"\w+").span_tokenize(text))


def split_words(
    tokens: Sequence[str], *, max_word_len: int, val_fraction: float, seed: int
) -> WordSplit:
    """Hold out whole word types (not tokens), chosen by `seed`: validation then measures words
    the model never saw, where a token split would mostly repeat "the" and "and"."""
    if not tokens:
        raise CorpusError("the corpus has no words after tokenizing (NLTK \\w+)")
    counts = Counter(tokens)
    types = sorted(counts)
    kept = [w for w in types if len(w) <= max_word_len]
    if not kept:
        raise CorpusError(
            f"every word is longer than max_word_len ({max_word_len}); raise --max-word-len"
        )
    order = np.random.default_rng(seed).permutation(len(kept))
    n_val = max(1, round(len(kept) * val_fraction)) if len(kept) > 1 else 0
    val = sorted(kept[i] for i in order[:n_val])
    train = sorted(kept[i] for i in order[n_val:])
    return WordSplit(train, val, len(tokens), len(types) - len(kept), [counts[w] for w in train])


def words_vocab(words: Iterable[str]) -> Vocab:
    """Sorted characters of the words (no unknown symbol: an unseen character is an error)."""
    chars = sorted({c for w in words for c in w})
    if not chars:
        raise CorpusError("the corpus has no words after tokenizing (NLTK \\w+)")
    return Vocab(tuple(chars))


def check_chars(words: Sequence[str], vocab: Vocab, *, skip: bool) -> list[str]:
    """Words ready to encode: characters outside `vocab` are an error naming them, or, with
    `skip`, dropped from the word (a word left empty is kept empty)."""
    known = set(vocab.chars)
    bad = sorted({c for w in words for c in w if c not in known})
    if bad and not skip:
        shown = "".join(bad[:20])
        raise VocabError(
            f"characters not in the run's vocabulary: {shown!r}; --unknown skip drops them"
        )
    return ["".join(c for c in w if c in known) for w in words] if bad else list(words)


def encode_words(
    words: Sequence[str], vocab: Vocab, *, reverse: bool = False
) -> npt.NDArray[np.int32]:
    """Symbols of each word, right-padded with PAD to the longest: [n_words, longest]."""
    longest = max((len(w) for w in words), default=0)
    out = np.zeros((len(words), max(longest, 1)), dtype=np.int32)
    for i, word in enumerate(words):
        if word:
            ids = vocab.encode(word[::-1] if reverse else word) + FIRST_CHAR
            out[i, : len(ids)] = ids
    return out


def decoder_arrays(
    chars: npt.NDArray[np.int32],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Teacher forcing: the decoder reads START + word and must write word + END; both
    padded alike, so one mask (target != PAD) covers loss and metrics."""
    n, width = chars.shape
    lengths = (chars != PAD).sum(axis=1)
    dec_in = np.zeros((n, width + 1), dtype=np.int32)
    dec_in[:, 0] = START
    dec_in[:, 1:] = chars
    target = np.zeros((n, width + 1), dtype=np.int32)
    target[:, :width] = chars
    target[np.arange(n), lengths] = END
    return dec_in, target


def delete_chars(
    chars: npt.NDArray[np.int32], p: float, rng: np.random.Generator
) -> npt.NDArray[np.int32]:
    """Drop each character with probability `p`, keeping at least one per word, and close up
    the gaps (still right-padded): the encoder sees "qston", the target stays "question"."""
    real = chars != PAD
    keep = real & (rng.random(chars.shape) >= p)
    lost = real.any(axis=1) & ~keep.any(axis=1)
    if lost.any():  # a word that lost every character keeps one, chosen at random
        rows = np.flatnonzero(lost)
        lengths = real[rows].sum(axis=1)
        keep[rows, (rng.random(len(rows)) * lengths).astype(np.int64)] = True
    order = np.argsort(~keep, axis=1, kind="stable")  # kept characters first, in order
    out = np.take_along_axis(np.where(keep, chars, PAD), order, axis=1)
    width = max(int(keep.sum(axis=1).max(initial=1)), 1)
    return np.ascontiguousarray(out[:, :width])


def decode_symbols(symbols: Sequence[int], vocab: Vocab) -> str:
    """Characters of decoder output up to its END (specials dropped)."""
    ids = []
    for s in symbols:
        if s == END:
            break
        if s >= FIRST_CHAR:
            ids.append(int(s) - FIRST_CHAR)
    return vocab.decode(ids)
