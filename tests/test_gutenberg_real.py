"""The cleaner on real Project Gutenberg files of every header era, language and encoding.

Each file in tests/data/gutenberg-real is the head and tail of a real ebook (SOURCES.md says
which, from where); expected.json holds the first and last line of the book, read off each
file by hand. Cleaning is the core call behind `chargen clean --no-lowercase`.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from chargen.text import document
from chargen.text.clean import CleanOptions, CleanText
from chargen.text.document import clean_bytes

DATA = Path(__file__).parent / "data" / "gutenberg-real"
EXPECTED: dict[str, dict[str, object]] = json.loads(
    (DATA / "expected.json").read_text(encoding="utf-8")
)
# What no kept line may hold: the licence, production credits, links, and mojibake (UTF-8
# read as Latin-1 or Windows-1252: "Ã©" for "é", "â€™" for "’")
WATCHED = re.compile(r"gutenberg|produced by|distributed proofread|http|licen", re.IGNORECASE)
MOJIBAKE = re.compile("Ã[\u0080-\u00bf]|â€|Â[\u00a0-\u00bf]|\ufffd")


def _result(name: str) -> CleanText:
    data = gzip.decompress((DATA / f"{name}.txt.gz").read_bytes())
    return clean_bytes(data, CleanOptions(), source=name)


def _clean(name: str) -> tuple[list[str], tuple[str, ...]]:
    result = _result(name)
    return result.text.split("\n"), result.report.notes


def test_every_file_has_an_expectation() -> None:
    files = {p.name.removesuffix(".txt.gz") for p in DATA.glob("*.txt.gz")}
    assert files == set(EXPECTED)
    assert len(files) >= 100


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_keeps_the_book_only(name: str) -> None:
    expected = EXPECTED[name]
    lines, _ = _clean(name)
    kept = [line.strip() for line in lines if line.strip()]
    assert kept[0] == expected["first"]
    assert kept[-1] == expected["last"]
    allowed = expected.get("allow", [])
    assert isinstance(allowed, list)
    watched = [
        line for line in kept if WATCHED.search(line) and not any(a in line for a in allowed)
    ]
    assert watched == []
    assert [line for line in kept if MOJIBAKE.search(line)] == []
    removed = expected.get("removed", [])
    assert isinstance(removed, list)
    assert [line for line in kept if any(line.startswith(note) for note in removed)] == []


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if "encoding" in EXPECTED[n]))
def test_real_file_is_decoded_in_its_encoding(name: str) -> None:
    """Windows-1252 bytes (a bullet, 0x95, under a header that says UTF-8; an oe ligature,
    0x9C) decode to their Windows-1252 characters, never to the C1 controls ISO-8859-1 has
    there; UTF-8 files whose header says ISO-8859-1 decode as UTF-8, with no mojibake."""
    expected = EXPECTED[name]
    result = _result(name)
    assert result.report.encoding == expected["encoding"]
    kept = {line.strip() for line in result.text.split("\n")}
    keeps = expected["keeps"]
    assert isinstance(keeps, list) and keeps
    assert [line for line in keeps if line not in kept] == []
    assert not any("\u0080" <= c <= "\u009f" for c in result.text)


def test_removed_notes_are_listed_in_the_summary() -> None:
    """The summary names each note block cut from the top, by its first line."""
    _, notes = _clean("14881-en-14881-8")
    assert notes == (
        "E-text prepared by Emmy and Ben Beasley, Audrey Longhurst, and the Project",
        "Note: Project Gutenberg also has an HTML version of this",
    )


@pytest.mark.parametrize(
    "name", ["7370-en-second-treatise-of-government", "1259-en-twenty-years-after"]
)
def test_a_big_file_is_cut_as_its_small_copy(name: str) -> None:
    """Past 2 MiB the cut is planned on the head and tail alone: notes inside the front
    matter go the same way (the filler goes where the file was cut in two)."""
    data = gzip.decompress((DATA / f"{name}.txt.gz").read_bytes())
    lines = data.split(b"\n")
    filler = [b"A line of the book's middle, as long as many others are.\r"] * 40_000
    big = b"\n".join(lines[:300] + filler + lines[300:])  # a head is 300 lines or more
    assert len(big) > 2 * document.EDGE
    small_clean = clean_bytes(data, CleanOptions(), source=name)
    big_clean = clean_bytes(big, CleanOptions(), source=name)
    assert big_clean.report.notes == small_clean.report.notes != ()
    assert big_clean.text[:3000] == small_clean.text[:3000]
    assert big_clean.text[-3000:] == small_clean.text[-3000:]
    assert len(big_clean.text) - len(small_clean.text) == len(filler) * len(filler[0])


def test_a_start_marker_far_into_a_file_keeps_the_same_book() -> None:
    """A start marker past the first MiB is found by the streaming search; the notes inside
    the front matter are cut from its window as from a small file's head."""
    name = "7370-en-second-treatise-of-government"
    data = gzip.decompress((DATA / f"{name}.txt.gz").read_bytes())
    before = b"A line of something else that comes before the ebook.\r\n" * 40_000
    small_clean = clean_bytes(data, CleanOptions(), source=name)
    far_clean = clean_bytes(before + data, CleanOptions(), source=name)
    assert far_clean.text == small_clean.text
    assert far_clean.report.notes == small_clean.report.notes
