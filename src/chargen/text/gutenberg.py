"""Where the book starts and ends inside a Project Gutenberg file, for every header era.

Markers are searched only in the head and tail of a file, so a multi-gigabyte corpus is never
held in memory to trim it; the caller streams the text between the two cuts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A start marker ends the header: the modern `*** START OF ...` lines (with or without the
# space) and the 1990s `*END*THE SMALL PRINT! ...` line that closes the licence block.
_MODERN_START = r"^\W*\*+\s*START\s*OF\s*((THE|THIS)\s+)?(COPYRIGHTED\s+)?PROJECT\s+GUTENBERG"
MODERN_START = re.compile(_MODERN_START, re.IGNORECASE)
START = re.compile(_MODERN_START + r"|^\W*\*+\s*END\s*\**\s*THE\s+SMALL\s+PRINT", re.IGNORECASE)
# An end marker starts the footer and the licence after it.
END = re.compile(
    r"^\W*\**\s*(THE\s+)?END\s*OF\s*(THE\s+|THIS\s+)?(COPYRIGHTED\s+)?PROJECT\s+GUTENBERG"
    r"|^\W*\**\s*END\s+OF\s+(THE|THIS)\s+(E-?TEXT|E-?BOOK)\s+OF\b"
    r"|^\W*\**\s*ENDE\s+DIESES\s+PRO(JECT|JEKT)\s+GUTENBERG",  # older German ebooks
    re.IGNORECASE,
)
# Production credits between the start marker and the book.
NOTES = re.compile(
    r"^\s*\[?\s*(produced\s+by|e-?text\s+prepared\s+by|e-?book\s+prepared\s+by|prepared\s+by"
    r"|transcribed\s+(from|by)|this\s+e-?(text|book)\s+was\s+(produced|prepared|created)"
    r"|scanned\s+(and\s+proofread\s+)?by|proofread\s+by|html\s+version\s+by"
    r"|e-?text\s+(scanned|edited)\s+by|created\s+by|updated\s+editions\s+will)",
    re.IGNORECASE,
)
# Lines that never belong to a book's text: a `*** START OF` line (a 2000s small print may
# follow an end marker, so that one does not count) or an end marker.
# Searched in whole blocks of text, so no part of it may match across a line break.
MARKER = re.compile(
    f"(?:{_MODERN_START})|(?:{END.pattern})".replace(r"\W", r"[^\w\n]").replace(r"\s", r"[^\S\n]"),
    re.IGNORECASE | re.MULTILINE,
)
# A second start marker this close to the first one belongs to the same header.
_HEADER_SPAN = 400


@dataclass(frozen=True)
class Cut:
    """Kept lines: from head line `first` to the line `bottom` lines before the end."""

    first: int  # index of the first kept line in the head
    last: int  # index of the last kept line in the tail
    start_marker: str | None
    end_marker: str | None


def find_start(lines: list[str]) -> tuple[int, str | None]:
    """Index after the header (0 if none) and the marker that closed it."""
    # the licence after a book's end marker can hold a small-print start line (2002 style)
    first_end = next((i for i, line in enumerate(lines) if END.match(line)), len(lines))
    found = [i for i, line in enumerate(lines[:first_end]) if START.match(line)]
    if not found:
        return 0, None
    chosen = found[0]
    for i in found[1:]:
        if i - chosen > _HEADER_SPAN or _is_end(lines, chosen, i):
            break
        chosen = i
    marker = lines[chosen].strip()
    nxt = chosen + 1
    # A long title wraps the `*** START OF ... ***` line onto the next one.
    if marker.startswith("***") and not marker.endswith("*"):
        if nxt < len(lines) and lines[nxt].strip().endswith("***"):
            marker, nxt = f"{marker} {lines[nxt].strip()}", nxt + 1
    return nxt, marker


def _is_end(lines: list[str], lo: int, hi: int) -> bool:
    return any(END.match(line) for line in lines[lo:hi])


def skip_notes(lines: list[str], i: int) -> int:
    """Skip blank lines and paragraphs of production credits ("Produced by ...")."""
    while True:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i < len(lines) and NOTES.match(lines[i]):
            while i < len(lines) and lines[i].strip():
                i += 1
            continue
        return i


def find_end(lines: list[str], begin: int) -> tuple[int, str | None]:
    """Index of the first end marker at or after `begin` (len(lines) if none)."""
    for i in range(begin, len(lines)):
        if END.match(lines[i]):
            return i, lines[i].strip()
    return len(lines), None


def another_book(lines: list[str], begin: int) -> str | None:
    """A start of a further ebook at or after `begin`, in the footer: a `*** START OF` line,
    or a 1990s small print start followed by another end marker (a 2002 small print after the
    book's end has none after it)."""
    small_print = None
    for line in lines[begin:]:
        if MODERN_START.match(line):
            return line.strip()
        if small_print is None and START.match(line):
            small_print = line.strip()
        elif small_print is not None and END.match(line):
            return small_print
    return None


def last_text_line(lines: list[str], end: int, floor: int) -> int:
    """The last non-blank line before `end` (floor - 1 when there is none)."""
    i = end - 1
    while i >= floor and not lines[i].replace("\x1a", "").strip():  # Ctrl-Z: DOS end of file
        i -= 1
    return i
