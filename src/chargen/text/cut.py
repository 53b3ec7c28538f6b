"""Where a document's kept text starts and ends, planned on lines read near its markers.

Pure: document.py reads the lines (the head and tail of a file, or windows around markers
found further in) and streams the text between the two cuts this module plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from chargen.errors import CorpusError
from chargen.text import gutenberg, notes


@dataclass
class Edges:
    """Lines the cut is planned on, and the characters and lines of the file outside them."""

    head: list[str]
    tail: list[str]
    tail_len: int  # characters of text the tail lines were split from
    whole: bool  # head and tail are the whole file
    bom: int = 0  # a byte-order mark before the head
    before: int = 0
    before_lines: int = 0
    after: int = 0
    after_lines: int = 0
    beyond: list[str] = field(default_factory=list)  # marker lines after the tail


@dataclass(frozen=True)
class Cut:
    """Characters to drop at each end, and what the summary says of them."""

    head_chars: int
    tail_chars: int
    removed_top: int
    removed_bottom: int
    first_line: str
    last_line: str
    start_marker: str | None
    end_marker: str | None
    notes: tuple[str, ...]  # first line of each production note removed at the top
    # notes inside the front matter: (start, end) character spans of the kept text, counted
    # from its first character
    holes: tuple[tuple[int, int], ...] = ()


def lines_of(text: str) -> list[str]:
    """Lines of a text of whole lines: a final newline ends the last line, starts no new one."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # or the text held no whole line at all
    return lines


def shown(line: str) -> str:
    """A line for the report, without spaces or DOS end-of-file marks (Ctrl-Z) around it."""
    return line.strip().strip("\x1a").strip()


def several_books(source: str, marker: str) -> CorpusError:
    return CorpusError(
        f"{source} holds more than one Project Gutenberg ebook ({marker[:80]!r} is "
        "inside it); give each book as its own file (a directory of them works as --corpus), "
        "or keep everything with --no-strip"
    )


def plan_cut(edges: Edges, *, strip: bool, source: str) -> Cut:
    """The cut: after the header and its production notes, before the footer (with `strip`),
    and without blank lines at either end."""
    hl, tl, whole = edges.head, edges.tail, edges.whole
    first, start_marker, removed = 0, None, []
    if strip:
        first, start_marker = gutenberg.find_start(hl)
        if start_marker is not None:
            first, removed = notes.skip_notes(hl, first)
    while first < len(hl) and not hl[first].strip():
        first += 1
    end, end_marker = len(tl), None
    if strip:
        end, end_marker = gutenberg.find_end(tl, first if whole else 0)
    if end_marker is not None:
        extra = gutenberg.another_book(tl + edges.beyond, end + 1)
        if extra is not None:
            raise several_books(source, extra)
    last = gutenberg.last_text_line(tl, end, first if whole else 0)
    bottom: list[str] = []
    if end_marker is not None:
        last, bottom = notes.bottom_notes(tl, last, first if whole else 0)
    if whole and last < first:
        if start_marker or end_marker:
            raise CorpusError(
                f"{source} holds only a Project Gutenberg header and licence, no text"
            )
        raise CorpusError(f"{source} is empty")
    kept = sum(len(line) + 1 for line in tl[: last + 1])
    inside = []
    if start_marker is not None and first < len(hl):
        # the head may run on past the end marker: a footer's notes are no book's
        stop = gutenberg.find_end(hl, first)[0]
        inside = notes.front_notes(hl, first, min(stop, last + 1) if whole else stop)
    holes = tuple(_span(hl, first, lo, hi) for lo, hi, _ in inside)
    return Cut(
        head_chars=edges.before + edges.bom + sum(len(line) + 1 for line in hl[:first]),
        tail_chars=edges.after + max(0, edges.tail_len - kept),
        removed_top=edges.before_lines + first + sum(hi - lo for lo, hi, _ in inside),
        removed_bottom=edges.after_lines + len(tl) - last - 1,
        # a big file's head or tail may hold no kept line (a 1 MB line, 1 MB of blank lines)
        first_line=shown(hl[first]) if first < len(hl) else "",
        last_line=shown(tl[last]) if 0 <= last < len(tl) else "",
        start_marker=start_marker,
        end_marker=end_marker,
        notes=tuple(shown(note) for note in removed + [text for _, _, text in inside] + bottom),
        holes=holes,
    )


def _span(lines: list[str], first: int, lo: int, hi: int) -> tuple[int, int]:
    """Lines lo..hi as a character span of the text that starts at line `first`."""
    start = sum(len(line) + 1 for line in lines[first:lo])
    return start, start + sum(len(line) + 1 for line in lines[lo:hi])


def drop_spans(blocks: Iterable[str], spans: tuple[tuple[int, int], ...]) -> Iterator[str]:
    """The text given in blocks without the character spans (sorted, not overlapping)."""
    at, k = 0, 0
    for block in blocks:
        end = at + len(block)
        if k >= len(spans) or spans[k][0] >= end:
            at = end
            yield block
            continue
        pieces, pos = [], at
        while k < len(spans) and spans[k][0] < end:
            lo, hi = max(spans[k][0], pos), spans[k][1]
            pieces.append(block[pos - at : lo - at])
            pos = min(hi, end)
            if hi > end:
                break
            k += 1
        pieces.append(block[pos - at :])
        at = end
        yield "".join(pieces)


def notices(source: str, *, replaced: int, literal: int, cut: Cut | None) -> tuple[str, ...]:
    """What the summary warns of: damaged bytes, and (with a `cut`, when stripping) markers
    that were not found."""
    out = []
    if replaced:
        out.append(f"{source}: {replaced} invalid UTF-8 byte sequence(s) replaced by U+FFFD")
    if literal:
        out.append(
            f"{source}: holds {literal} U+FFFD replacement character(s), "
            "damage done before the file was saved; kept as they are"
        )
    if cut is not None:
        if cut.start_marker is None and cut.end_marker is None:
            out.append(f"{source}: no Project Gutenberg markers; kept whole")
        elif cut.start_marker is None:
            out.append(f"{source}: end marker but no start marker; kept the top")
        elif cut.end_marker is None:
            out.append(f"{source}: start marker but no end marker; kept the bottom")
    return tuple(out)


def through_last_text_line(text: str) -> str:
    """`text` up to the end of its last line with a non-blank character ("" if none)."""
    stripped = text.rstrip()
    if not stripped:
        return ""
    end = text.find("\n", len(stripped))
    return text if end < 0 else text[:end]
