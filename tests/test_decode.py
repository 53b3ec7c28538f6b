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
