"""text_blocks reads as io.TextIOWrapper(newline=None) does; detection skips ASCII blocks."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargen.text.decode import detect_encoding, text_blocks

PIECES = ["a", "\r", "\n", "\r\n", "\u00e9", "\u2019", "\U0001f600", "e\u0301", "\ufffd"]


def _wrapper_blocks(data: bytes, encoding: str, size: int) -> list[str]:
    fh = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline=None)
    return list(iter(lambda: fh.read(size), ""))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-le"])
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=40),
    size=st.integers(1, 9),
    damage=st.booleans(),
)
def test_text_blocks_match_text_io_wrapper(
    encoding: str, pieces: list[str], size: int, damage: bool
) -> None:
    data = "".join(pieces).encode(encoding)
    if damage and encoding.startswith("utf-8"):
        data = data[: len(data) // 2] + b"\xe2\xff" + data[len(data) // 2 :]
    got = list(text_blocks(io.BytesIO(data), encoding, "replace", size))
    assert got == _wrapper_blocks(data, encoding, size)


def test_a_crlf_split_between_blocks_is_one_newline() -> None:
    data = b"ab\r\ncd\r" + b"\nef\rg\r"
    assert list(text_blocks(io.BytesIO(data), "utf-8", "strict", 3)) == [
        "ab\n",
        "cd\n",
        "ef\n",
        "g\n",
    ]


def test_ascii_blocks_between_multibyte_ones_are_counted_alike() -> None:
    text = ("\u00e9t\u00e9 " * 50 + "plain ascii " * 50) * 4
    data = text.encode()
    whole = detect_encoding([data], "x")
    # 7-byte blocks split characters: a held-back byte keeps the next (ASCII) block decoded
    blocks = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert detect_encoding(blocks, "x") == whole == ("utf-8-sig", 0, 0)
    damaged = data[:5] + b"\xff" + data[5:]
    assert detect_encoding([damaged[i : i + 7] for i in range(0, len(damaged), 7)], "x") == (
        detect_encoding([damaged], "x")
    )


CZECH = "Žluťoučký kůň úpěl ďábelské ódy. Řeka šumí, Šárka a Ťapka.\n"


def _declaring(charset: str, body: str) -> str:
    return (
        "The Project Gutenberg EBook of Babicka\n\nLanguage: Czech\n\n"
        f"Character set encoding: {charset}\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK BABICKA ***\n\n" + body * 20
    )


@pytest.mark.parametrize(
    ("declared", "saved_as", "detected"),
    [
        ("ISO-8859-2", "iso-8859-2", "iso8859-2"),
        ("ISO 8859-2", "iso-8859-2", "iso8859-2"),
        ("latin2", "iso-8859-2", "iso8859-2"),
        # Windows-1250 bytes (C1 positions used for letters) under an ISO-8859-2 header
        ("ISO-8859-2", "cp1250", "cp1250"),
        # the bytes come first: a header that names the wrong set is overruled
        ("ISO-8859-2", "utf-8", "utf-8-sig"),
    ],
)
def test_a_declared_character_set_decodes_what_utf8_cannot(
    declared: str, saved_as: str, detected: str
) -> None:
    data = _declaring(declared, CZECH).encode(saved_as)
    assert detect_encoding([data], "x").encoding == detected
    # split blocks decode alike, an ASCII block between them included
    blocks = [data[i : i + 5] for i in range(0, len(data), 5)] + [b"plain\n"]
    assert detect_encoding(blocks, "x").encoding == detected


def test_a_multibyte_declared_set_such_as_big5() -> None:
    text = "Character set encoding: BIG5\n\n" + "第一回　甄士隱夢幻識通靈\n" * 30
    data = text.encode("big5")
    # 3-byte blocks split characters; ASCII bytes can be Big5 trail bytes
    blocks = [data[i : i + 3] for i in range(0, len(data), 3)]
    assert detect_encoding([data], "x").encoding == detect_encoding(blocks, "x").encoding
    assert detect_encoding([data], "x").encoding == "big5"


@pytest.mark.parametrize("declared", ["ISO-8859-1", "UTF-8", "ASCII", "no-such-set", "base64"])
def test_latin1_or_unknown_declarations_leave_detection_to_the_bytes(declared: str) -> None:
    data = _declaring(declared, "caf\u00e9 \u201cna\u00efve\u201d\n").encode("cp1252")
    assert detect_encoding([data], "x").encoding == "cp1252"
