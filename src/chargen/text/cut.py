"""Where a document's kept text starts and ends, planned on lines read near its markers.

Pure: document.py reads the lines (the head and tail of a file, or windows around markers
found further in) and streams the text between the two cuts this module plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chargen.errors import CorpusError
from chargen.text import gutenberg


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
    first, start_marker, notes = 0, None, []
    if strip:
        first, start_marker = gutenberg.find_start(hl)
        if start_marker is not None:
            first, notes = gutenberg.skip_notes(hl, first)
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
    if whole and last < first:
        if start_marker or end_marker:
            raise CorpusError(
                f"{source} holds only a Project Gutenberg header and licence, no text"
            )
        raise CorpusError(f"{source} is empty")
    kept = sum(len(line) + 1 for line in tl[: last + 1])
    return Cut(
        head_chars=edges.before + edges.bom + sum(len(line) + 1 for line in hl[:first]),
        tail_chars=edges.after + max(0, edges.tail_len - kept),
        removed_top=edges.before_lines + first,
        removed_bottom=edges.after_lines + len(tl) - last - 1,
        # a big file's head or tail may hold no kept line (a 1 MB line, 1 MB of blank lines)
        first_line=shown(hl[first]) if first < len(hl) else "",
        last_line=shown(tl[last]) if 0 <= last < len(tl) else "",
        start_marker=start_marker,
        end_marker=end_marker,
        notes=tuple(shown(note) for note in notes),
    )
