"""Raw bytes to clean text: decoding, newline and Unicode normalisation, Gutenberg trimming."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from chargen.errors import CorpusError

# A start marker ends the header; everything up to and including it is removed.
_START = re.compile(
    r"^\s*(\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG"
    r"|\*END\*?\s*THE SMALL PRINT"
    r"|\*{3}\s*START OF THE PROJECT GUTENBERG)",
    re.IGNORECASE,
)
# An end marker starts the footer (and the licence after it).
_END = re.compile(
    r"^\s*(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG"
    r"|END OF (THE |THIS )?PROJECT GUTENBERG)",
    re.IGNORECASE,
)
# Production notes that follow the start marker, before the book itself.
_NOTES = re.compile(
    r"^\s*(produced by|e-?text prepared by|prepared by|transcribed by|this e-?text was)",
    re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True)
class CleanOptions:
    """How raw text becomes training text; stored with prepared data so sampling matches."""

    strip: bool = True
    lowercase: bool = False
    encoding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class CleanReport:
    """What cleaning did to one source, for the summary users read."""

    source: str
    encoding: str
    removed_top: int
    removed_bottom: int
    start_marker: str | None
    end_marker: str | None
    chars: int
    first_line: str
    last_line: str
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CleanText:
    text: str
    report: CleanReport


def decode(data: bytes, encoding: str | None, source: str) -> tuple[str, str]:
    """Bytes to str. UTF-8 (BOM or not) first, then Windows-1252, as old Gutenberg files need."""
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError as exc:
            raise CorpusError(f"unknown encoding {encoding!r}") from exc
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{source} is not valid {encoding} (byte {exc.start})") from exc
    if b"\x00" in data[:65536]:
        raise CorpusError(f"{source} looks binary (NUL bytes), not a text file")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{source} is neither UTF-8 nor Windows-1252; pass --encoding") from exc


def normalise(text: str) -> str:
    """CRLF and lone CR to LF, Unicode to NFC, so one character is one vocabulary entry."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def normalise_seed(text: str, options: CleanOptions) -> str:
    """The normalisation a prime text needs to match the training text."""
    text = normalise(text)
    return text.lower() if options.lowercase else text


def find_gutenberg_body(lines: list[str]) -> tuple[int, int, str | None, str | None]:
    """Index range [start, end) of the book inside a Gutenberg file, and the markers found."""
    start, start_marker = 0, None
    for i, line in enumerate(lines):
        if _START.match(line):
            start, start_marker = i + 1, line.strip()
            break
    end, end_marker = len(lines), None
    for i in range(start, len(lines)):
        if _END.match(lines[i]):
            end, end_marker = i, lines[i].strip()
            break
    if start_marker is not None:
        start = _skip_production_notes(lines, start, end)
    return start, end, start_marker, end_marker


def _skip_production_notes(lines: list[str], start: int, end: int) -> int:
    i = start
    while i < end and not lines[i].strip():
        i += 1
    if i < end and _NOTES.match(lines[i]):
        while i < end and lines[i].strip():
            i += 1
        return i
    return start


def clean_text(text: str, options: CleanOptions, *, source: str, encoding: str) -> CleanText:
    """Normalise and trim decoded text; an empty result is an error naming the source."""
    lines = normalise(text).split("\n")
    notices: list[str] = []
    start, end, start_marker, end_marker = 0, len(lines), None, None
    if options.strip:
        start, end, start_marker, end_marker = find_gutenberg_body(lines)
        if start_marker is None and end_marker is None:
            notices.append(f"{source}: no Project Gutenberg markers; kept whole")
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    kept = lines[start:end]
    body = "\n".join(kept) + "\n"
    if options.lowercase:
        body = body.lower()
    if not body.strip():
        raise CorpusError(f"{source} is empty after cleaning")
    report = CleanReport(
        source=source,
        encoding=encoding,
        removed_top=start,
        removed_bottom=len(lines) - end,
        start_marker=start_marker,
        end_marker=end_marker,
        chars=len(body),
        first_line=kept[0],
        last_line=kept[-1],
        notices=tuple(notices),
    )
    return CleanText(body, report)


def clean_bytes(data: bytes, options: CleanOptions, *, source: str) -> CleanText:
    if not data.strip():
        raise CorpusError(f"{source} is empty")
    text, encoding = decode(data, options.encoding, source)
    return clean_text(text, options, source=source, encoding=encoding)
