"""prepare_corpus: streaming encode, cache reuse, unknown symbol, bad input writes nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import h5py
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargen.data.prepare import prepare_corpus
from chargen.data.prepared import read_ids
from chargen.data.spool import read_units, spool_units
from chargen.data.vocab import UNKNOWN, Vocab, units_text
from chargen.errors import CorpusError, RunError
from chargen.generation.load import seed_options
from chargen.text.clean import CleanOptions
from chargen.text.document import clean_bytes
from tests.conftest import TINY_TEXT, flip_id_bytes, shipped

WONDERLAND = shipped().wonderland


def test_prepared_ids_are_the_cleaned_text(tmp_path: Path) -> None:
    options = CleanOptions(lowercase=True, ascii=True)
    result = prepare_corpus(
        str(WONDERLAND), options, val_fraction=0.1, data_dir=tmp_path, out=tmp_path / "w.h5"
    )
    expected = clean_bytes(WONDERLAND.read_bytes(), options, source="w").text
    p = result.prepared
    text = p.vocab.decode(read_ids(p.path, "train")) + p.vocab.decode(read_ids(p.path, "val"))
    assert text == expected
    assert p.vocab.normalisation == options.to_dict()
    assert seed_options(p.vocab) == options
    assert [r.removed_top for r in result.reports] == [31]
    with h5py.File(p.path) as h5:
        assert json.loads(h5.attrs["sources"]) == [str(WONDERLAND)]


def test_cache_is_reused_for_same_bytes_and_options(tmp_path: Path) -> None:
    first = prepare_corpus(str(WONDERLAND), CleanOptions(), val_fraction=0.1, data_dir=tmp_path)
    again = prepare_corpus(str(WONDERLAND), CleanOptions(), val_fraction=0.1, data_dir=tmp_path)
    other = prepare_corpus(
        str(WONDERLAND), CleanOptions(ascii=True), val_fraction=0.1, data_dir=tmp_path
    )
    assert (first.cached, again.cached, other.cached) == (False, True, False)
    assert again.prepared.path == first.prepared.path != other.prepared.path
    assert again.reports == []


def test_damaged_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    first = prepare_corpus(str(WONDERLAND), CleanOptions(), val_fraction=0.1, data_dir=tmp_path)
    good = read_ids(first.prepared.path, "train")
    flip_id_bytes(first.prepared.path, "train")
    with pytest.raises(RunError, match="train ids fail their checksum"):
        read_ids(first.prepared.path, "train")
    again = prepare_corpus(str(WONDERLAND), CleanOptions(), val_fraction=0.1, data_dir=tmp_path)
    assert again.cached is False and again.prepared.path == first.prepared.path
    assert (read_ids(again.prepared.path, "train") == good).all()


def test_rare_characters_become_the_unknown_symbol(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT * 6 + "\u00e6\n", encoding="utf-8")
    result = prepare_corpus(
        str(corpus),
        CleanOptions(min_char_count=3),
        val_fraction=0.1,
        data_dir=tmp_path,
        out=tmp_path / "c.h5",
    )
    vocab = result.prepared.vocab
    assert vocab.unknown == UNKNOWN and "\u00e6" not in vocab.chars
    val = vocab.decode(read_ids(result.prepared.path, "val"))
    assert val.endswith(UNKNOWN + "\n")


def test_too_short_for_a_window_writes_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "short.txt"
    corpus.write_text("x" * 300 + "\n")
    with pytest.raises(CorpusError) as err:
        prepare_corpus(
            str(corpus),
            CleanOptions(),
            val_fraction=0.1,
            data_dir=tmp_path / "data",
            out=tmp_path / "o.h5",
            seq_len=100,
        )
    assert str(err.value) == (
        "corpus too short for seq_len 100: the val split has 30 characters, needs at least 101"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


@given(st.lists(st.characters(codec="utf-8"), min_size=1, unique=True), st.booleans())
def test_vocab_json_round_trip(chars: list[str], lowercase: bool) -> None:
    norm = CleanOptions(lowercase=lowercase, keep_chars="[^x]").to_dict()
    vocab = Vocab.from_counts({c: 1 for c in chars}, normalisation=norm)
    back = Vocab.from_json(vocab.to_json())
    assert back == vocab
    assert back.chars == tuple(sorted(chars))
    assert back.to_json() == vocab.to_json()
    assert back.decode(back.encode("".join(chars))) == "".join(chars)


def test_a_full_disk_is_refused_before_writing(tmp_path: Path, monkeypatch) -> None:
    """HDF5 crashes the process when the disk fills while it closes a file, so space is
    checked first."""
    import collections
    import shutil

    from chargen.data import prepared

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 1000, 1000))
    out = tmp_path / "deep" / "w.h5"
    with pytest.raises(RunError) as err:
        prepare_corpus(str(WONDERLAND), CleanOptions(), val_fraction=0.1, data_dir=tmp_path,
                       out=out)  # fmt: skip
    assert str(err.value) == (
        f"cannot write prepared file {out}: No space left on device (needs about 1.2 MB, "
        "0.0 MB free)"
    )
    assert not out.parent.exists()
    message = (
        "Unable to create file (unable to open file: name = '/x/.tmp-1-w.h5', errno = 13, "
        "error message = 'Permission denied', flags = 13, o_flags = 242)"
    )
    assert prepared.h5_reason(OSError(message)) == "Permission denied"
    message = "Can't decrement id ref count (file write failed: errno = 28, buf = 0x1)"
    assert prepared.h5_reason(RuntimeError(message)) == "No space left on device"


def test_the_cache_key_names_the_cleaning_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file cached under older cleaning rules is not reused: they cut other text."""
    from chargen.data import prepare

    key = prepare.cache_key("ab" * 32, CleanOptions(), 0.1)
    assert key == prepare.cache_key("ab" * 32, CleanOptions(), 0.1) and len(key) == 16
    monkeypatch.setattr(prepare, "CLEANING_RULES", prepare.CLEANING_RULES + 1)
    assert prepare.cache_key("ab" * 32, CleanOptions(), 0.1) != key


REFERENCE_CORPORA = {
    "wonderland": lambda: WONDERLAND.read_bytes(),  # CRLF, markers, ASCII
    "accents": lambda: (
        "Caf\u00e9 \u2019na\u00efve\u2019 cre\u0301me\r\n\r\nLine\rtwo \u4e2d \U0001f600\n" * 400
    ).encode(),
    "cp1252": lambda: ("na\u00efve \u2014 caf\u00e9\r\n" * 500).encode("cp1252"),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_CORPORA))
@pytest.mark.parametrize(
    "options",
    [CleanOptions(), CleanOptions(strip=False, min_char_count=3), CleanOptions(lowercase=True)],
    ids=["default", "min-count", "lowercase"],
)
def test_prepared_ids_match_the_straightforward_reference(
    name: str, options: CleanOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed in small blocks, prepare stores what encoding the whole cleaned text at once
    gives: the same vocabulary, ids and split."""
    data = REFERENCE_CORPORA[name]()
    path = tmp_path / f"{name}.txt"
    path.write_bytes(data)
    monkeypatch.setattr("chargen.text.document.BLOCK", 4096)
    result = prepare_corpus(
        str(path), options, val_fraction=0.1, data_dir=tmp_path, out=tmp_path / "p.h5"
    )
    text = clean_bytes(data, options, source=name).text
    vocab = Vocab.from_text(text, min_count=options.min_char_count, normalisation=options.to_dict())
    ids = vocab.encode(text)
    n_val = int(round(len(text) * 0.1))
    p = result.prepared
    assert p.vocab == vocab
    assert read_ids(p.path, "train").tolist() == ids[: len(ids) - n_val].tolist()
    assert read_ids(p.path, "val").tolist() == ids[len(ids) - n_val :].tolist()
    with h5py.File(p.path) as h5:
        assert h5["train"].dtype == vocab.dtype


@given(st.lists(st.text(max_size=30), max_size=8))
def test_spooled_code_units_read_back_as_written(chunks: list[str]) -> None:
    with tempfile.TemporaryFile() as spool:
        written = [units_text(u) for u in spool_units(chunks, spool)]
        assert written == [c for c in chunks if c]
        assert [units_text(u) for u in read_units(spool)] == written
