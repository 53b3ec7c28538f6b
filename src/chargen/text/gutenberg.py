"""Where the book starts and ends inside a Project Gutenberg file, for every header era.

Markers are searched in the head and tail of a file, and when one is missing there, in one
streaming pass over the whole text (`locate`), so a multi-gigabyte corpus is never held in
memory to trim it; the caller streams the text between the two cuts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# A start marker ends the header: the modern `*** START OF ...` lines (with or without the
# space) and the 1990s `*END*THE SMALL PRINT! ...` line that closes the licence block.
_MODERN_START = r"^\W*\*+\s*START\s*OF\s*((THE|THIS)\s+)?(COPYRIGHTED\s+)?PROJECT\s+GUTENBERG"
MODERN_START = re.compile(_MODERN_START, re.IGNORECASE)
START = re.compile(_MODERN_START + r"|^\W*\*+\s*END\s*\**\s*THE\s+SMALL\s+PRINT", re.IGNORECASE)
# An end marker starts the footer and the licence after it.
END = re.compile(
    r"^\W*\**\s*(THE\s+)?END\s*OF\s*(THE\s+|THIS\s+)?(WIRETAP\s*/\s*)?(COPYRIGHTED\s+)?"
    r"PROJECT\s+GUTENBERG"
    r"|^\W*\**\s*END\s+OF\s+(THE|THIS)\s+(E-?TEXT|E-?BOOK)\s+OF\b"
    r"|^\W*\**\s*ENDE\s+DIESES\s+PRO(JECT|JEKT)\s+GUTENBERG",  # older German ebooks
    re.IGNORECASE,
)
# Lines that never belong to a book's text: a `*** START OF` line (a 2000s small print may
# follow an end marker, so that one does not count) or an end marker.
# Searched in whole blocks of text, so no part of it may match across a line break.
MARKER = re.compile(
    f"(?:{_MODERN_START})|(?:{END.pattern})".replace(r"\W", r"[^\w\n]").replace(r"\s", r"[^\S\n]"),
    re.IGNORECASE | re.MULTILINE,
)
# Start and end marker lines, found in blocks of whole lines (confirmed by START and END).
LINE_MARKER = re.compile(
    f"(?:{START.pattern})|(?:{END.pattern})".replace(r"\W", r"[^\w\n]").replace(r"\s", r"[^\S\n]"),
    re.IGNORECASE | re.MULTILINE,
)
# Every marker holds one of these words: blocks without any skip the regex, far cheaper.
_MARKER_WORDS = ("gutenberg", "small print", "etext", "e-text", "ebook", "e-book")
_MAX_MARKERS = 1000  # marker lines kept by `locate`: a few are real, the rest would be quotes
# A second start marker this close to the first one belongs to the same header.
_HEADER_SPAN = 400


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


_SEPARATOR = re.compile(r"^\s*\*{3}\s*$")


def last_text_line(lines: list[str], end: int, floor: int) -> int:
    """The last non-blank line before `end` (floor - 1 when there is none)."""
    i = end - 1
    while i >= floor and not lines[i].replace("\x1a", "").strip():  # Ctrl-Z: DOS end of file
        i -= 1
    if i > floor and end < len(lines) and _SEPARATOR.match(lines[i]):
        return last_text_line(lines, i, floor)  # "***" between the book and a 1990s footer
    return i


@dataclass(frozen=True)
class Window:
    """Whole lines of a file's text: `text` starts at character `offset`, on line `line`."""

    text: str
    offset: int
    line: int


@dataclass
class Located:
    """What one pass over a file's whole text found: its size in characters and lines, the
    marker lines (line index, text), and windows around the start and end markers."""

    chars: int = 0
    lines: int = 0
    markers: list[tuple[int, str]] = field(default_factory=list)
    head: Window | None = None  # `edge` characters from the start marker line on
    tail: Window | None = None  # up to `edge` characters before the end marker, through it


def locate(blocks: Iterable[str], edge: int) -> Located:
    """Find the start and end markers anywhere in a text given as blocks, in flat memory.

    The start marker is the first one before any end marker (as `find_start` has it), the end
    marker the first one of all (a start after it is another book's); each comes back with
    `edge` characters of context, enough for `find_start`, `skip_notes` and `last_text_line`,
    so a marker 300 MB into a file is cut as one in its first megabyte would be.
    """
    found = Located()
    recent = ""
    head: list[str] = []
    head_at: tuple[int, int] | None = None
    unended = False
    for chunk in _whole_lines(blocks, 8 * edge):
        if head_at is not None and sum(map(len, head)) < edge:
            head.append(chunk)
        for at, line, text in _markers_in(chunk, found.lines):
            if len(found.markers) < _MAX_MARKERS:
                found.markers.append((line, text))
            if found.tail is not None:
                continue
            if END.match(text):
                before = (recent + chunk[:at])[-edge:]
                if len(recent) + at > edge:
                    before = before[before.find("\n") + 1 :]  # from a line start
                through = chunk.find("\n", at) + 1 or len(chunk)
                offset = found.chars + at - len(before)
                found.tail = Window(before + chunk[at:through], offset, line - before.count("\n"))
            elif head_at is None:
                head_at = (found.chars + at, line)
                head.append(chunk[at:])
        recent = (recent + chunk)[-2 * edge :]
        found.chars += len(chunk)
        found.lines += chunk.count("\n")
        unended = not chunk.endswith("\n")
    if found.chars and unended:
        found.lines += 1  # the last line, with no line break after it
    if head_at is not None:
        text = "".join(head)
        marker_end = text.find("\n") + 1 or len(text)  # the marker line, however long
        cut = text.rfind("\n", marker_end, edge) + 1 or marker_end
        found.head = Window(text[:cut], *head_at)
    return found


def _whole_lines(blocks: Iterable[str], longest: int) -> Iterator[str]:
    """The text in chunks that end at a line break: the last may end without one, and a line
    over `longest` characters is cut (no marker is that long)."""
    pending = ""
    for block in blocks:
        pending += block
        cut = pending.rfind("\n") + 1
        if not cut and len(pending) > longest:
            cut = len(pending)
        if cut:
            yield pending[:cut]
            pending = pending[cut:]
    if pending:
        yield pending


def _markers_in(chunk: str, lines: int) -> list[tuple[int, int, str]]:
    """Marker lines (character offset, line index, text) in a block of whole lines that
    starts on line `lines`."""
    lowered = chunk.lower()
    if not any(word in lowered for word in _MARKER_WORDS):
        return []
    out = []
    for m in LINE_MARKER.finditer(chunk):
        end = chunk.find("\n", m.start())
        text = chunk[m.start() : end if end >= 0 else len(chunk)]
        if START.match(text) or END.match(text):
            out.append((m.start(), lines + chunk.count("\n", 0, m.start()), text))
            if len(out) >= _MAX_MARKERS:
                break
    return out


def names_gutenberg(text: str) -> bool:
    """Whether "gutenberg" is in `text`, in any case: `"gutenberg" in text.lower()`, in half
    its time on non-ASCII text. No non-ASCII character lowercases to a letter of the word, and
    UTF-8 keeps ASCII bytes for ASCII characters only, so lowering the bytes finds the same."""
    if text.isascii():
        return "gutenberg" in text.lower()
    return b"gutenberg" in text.encode("utf-8", "surrogatepass").lower()
