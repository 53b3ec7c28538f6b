from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargen.data.vocab import UNKNOWN, Vocab, count_chars
from chargen.errors import VocabError


def test_sorted_ids_and_smallest_dtype() -> None:
    v = Vocab.from_text("hello world")
    assert v.chars == (" ", "d", "e", "h", "l", "o", "r", "w")
    assert v.encode("hello").tolist() == [3, 2, 4, 4, 5]
    assert v.dtype == np.uint8
    big = Vocab(tuple(sorted(chr(0x4E00 + i) for i in range(300))))
    assert big.dtype == np.uint16


@given(st.text(min_size=1))
def test_encode_decode_round_trip(text: str) -> None:
    v = Vocab.from_text(text)
    assert v.decode(v.encode(text)) == text


@given(st.text(min_size=1), st.booleans())
def test_json_round_trip(text: str, lowercase: bool) -> None:
    v = Vocab.from_text(text, normalisation={"lowercase": lowercase})
    back = Vocab.from_json(v.to_json())
    assert back == v
    assert back.normalisation == {"lowercase": lowercase}


def test_count_chars_matches_counter() -> None:
    chunks = ["aab", "\u00e9\u00e9", "", "b\U0001f600"]
    assert count_chars(chunks) == {"a": 2, "b": 2, "\u00e9": 2, "\U0001f600": 1}


def test_characters_outside_vocab_are_an_error_without_unknown() -> None:
    v = Vocab.from_text("abc")
    with pytest.raises(VocabError, match="characters not in the vocabulary: 'xz'"):
        v.encode("axbz")
    assert v.missing("axbz") == ["x", "z"]


def test_rare_characters_map_to_unknown() -> None:
    v = Vocab.from_counts({"a": 10, "b": 10, "q": 1}, min_count=2)
    assert v.unknown == UNKNOWN
    assert set(v.chars) == {"a", "b", UNKNOWN}
    ids = v.encode("aqz")
    assert v.decode(ids) == f"a{UNKNOWN}{UNKNOWN}"


def test_damaged_json_is_a_one_line_error() -> None:
    with pytest.raises(VocabError, match="vocab.json is not valid JSON"):
        Vocab.from_json("{", source="vocab.json")
    with pytest.raises(VocabError, match="is not a chargen vocabulary"):
        Vocab.from_json(json.dumps({"chars": ["a"]}), source="x")
    data = json.loads(Vocab.from_text("ab").to_json())
    data["version"] = 99
    with pytest.raises(VocabError, match="vocabulary version 99, expected 1"):
        Vocab.from_json(json.dumps(data), source="x")
    data["version"] = 1
    data["chars"] = ["b", "a"]
    with pytest.raises(VocabError, match="unique and sorted"):
        Vocab.from_json(json.dumps(data), source="x")


def test_decode_rejects_out_of_range_ids() -> None:
    with pytest.raises(VocabError, match="id out of range for a vocabulary of 2"):
        Vocab.from_text("ab").decode([0, 2])


TEXTS = st.text(st.sampled_from("ab \n\u00e9\u00ff\u0100\u2019\u4e2d\U0001f600\ud800"), max_size=60)


@given(TEXTS, st.integers(1, 3))
def test_count_chars_and_compact_ids_match_the_plain_ones(text: str, min_count: int) -> None:
    """Latin-1 bytes, 16-bit and 32-bit code units all count and encode as code points do."""
    assert count_chars([text, text[:7]]) == dict(Counter(text + text[:7]))
    vocab = Vocab.from_text("ab" + text, min_count=min_count)
    assert vocab.encode_compact(text).dtype == vocab.dtype
    assert vocab.encode_compact(text).tolist() == vocab.encode(text).tolist()


@pytest.mark.parametrize("size", [255, 256, 300])
def test_compact_ids_of_large_vocabularies(size: int) -> None:
    chars = "".join(chr(0x100 + i) for i in range(size - 2)) + "a\U0001f600"
    vocab = Vocab.from_text(chars)
    text = chars[::-1] * 3
    assert vocab.encode_compact(text).tolist() == vocab.encode(text).tolist()
    assert vocab.encode_compact("a" * 5).tolist() == [0] * 5
    with pytest.raises(VocabError, match="characters not in the vocabulary: 'z'"):
        vocab.encode_compact(text + "z")


def test_compact_ids_of_missing_characters() -> None:
    vocab = Vocab.from_text("abc")
    with pytest.raises(VocabError, match="characters not in the vocabulary: '\u00ff'"):
        vocab.encode_compact("ab\u00ff")
    with pytest.raises(VocabError, match="characters not in the vocabulary: '\u2019'"):
        vocab.encode_compact("a\u2019")
    rare = Vocab.from_counts({"a": 5, "b": 5, "c": 1}, min_count=2)
    assert rare.encode_compact("abc\u2019").tolist() == [0, 1, 2, 2]  # c and \u2019: unknown
