from __future__ import annotations

import json

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
