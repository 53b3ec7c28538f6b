"""One corpus source cleaned in a streaming pass: bounded memory whatever the file size.

A first pass checks the bytes (text, encoding, hash); the Gutenberg cut is planned (cut.py) on
the head and tail, or, when a marker is missing there, on windows around the markers one more
streaming pass finds; each later pass decodes blocks, drops the header characters, holds back
the footer characters and cleans whole lines, so a file is never held in memory, let alone twice.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import BinaryIO

from chargen.errors import CorpusError
from chargen.text import gutenberg
from chargen.text.clean import CleanOptions, CleanReport, CleanText, Transform
from chargen.text.cut import (
    Edges,
    drop_spans,
    lines_of,
    notices,
    plan_cut,
    several_books,
    through_last_text_line,
)
from chargen.text.decode import (
    code_unit,
    detect_encoding,
    display_encoding,
    fixed_order,
    text_blocks,
    validate,
)

BLOCK = 1 << 20  # bytes or characters read at a time
EDGE = 1 << 20  # bytes of head and tail searched first for Gutenberg markers
# Every marker file names Project Gutenberg: a file that never does needs no search past its
# ends (two byte searches, a fraction of decoding's cost; see locate)
_NAMES = (b"utenberg", b"UTENBERG")
HELD_IN_MEMORY = 16 << 20  # characters of held-back blank lines kept in memory, then on disk

Opener = Callable[[], BinaryIO]


def bytes_opener(data: bytes) -> Opener:
    return lambda: io.BytesIO(data)


def file_opener(path: str) -> Opener:
    return lambda: open(path, "rb")


class Document:
    """A cleaned source; `chunks()` may be iterated many times, each a fresh streaming pass."""

    def __init__(self, source: str, opener: Opener, options: CleanOptions) -> None:
        self.source = source
        self.opener = opener
        self.options = options
        self._chars: int | None = None
        self.replaced = 0  # invalid UTF-8 sequences decoded as U+FFFD
        self.literal = 0  # U+FFFD characters the file itself holds
        self.total_chars: int | None = None  # of the decoded text, once a pass has read it all
        Transform(options).check()
        self._scan()
        self._plan()

    def _blocks(self) -> Iterator[bytes]:
        try:
            with self.opener() as fh:
                while block := fh.read(BLOCK):
                    yield block
        except OSError as exc:
            raise CorpusError(f"cannot read corpus {self.source}: {exc.strerror}") from exc

    def _scan(self) -> None:
        """Hash the bytes, reject binary or empty files, and settle the encoding."""
        digest, size, blank = hashlib.sha256(), 0, True
        named = not self.options.strip  # whether the bytes name Project Gutenberg

        def hashed() -> Iterator[bytes]:
            nonlocal size, blank, named
            seam = b""
            for block in self._blocks():
                digest.update(block)
                size += len(block)
                blank = blank and not block.strip()
                if not named:
                    ends = seam + block[:16]
                    named = any(n in block or n in ends for n in _NAMES)
                    seam = block[-16:]
                yield block

        if self.options.encoding is None:
            self.encoding, self.replaced, self.literal = detect_encoding(hashed(), self.source)
        else:
            self.encoding = self.options.encoding
            self.literal = validate(hashed(), self.encoding, self.source)
        self.sha256, self.size = digest.hexdigest(), size
        # UTF-16/32 spell the name with NUL bytes between its letters
        self.named = named or code_unit(self.encoding) > 1
        if blank:  # UTF-16/32 whitespace is not blank bytes: _plan finds those empty
            raise CorpusError(f"{self.source} is empty")

    def _text(self, data: bytes, final: bool, encoding: str | None = None) -> str:
        decoder = codecs.getincrementaldecoder(encoding or self.encoding)(errors="replace")
        text = decoder.decode(data, final)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _edges(self) -> Edges:
        """The lines the cut is planned on: the head and tail of the file, or windows around
        markers found further in (`gutenberg.locate`) when the head or tail lacks one."""
        with self.opener() as fh:
            if self.size <= 2 * EDGE:
                head = self._text(fh.read(), True)
                bom = 1 if head.startswith("\ufeff") else 0
                tail = lines_of(head[bom:])
                # the head keeps a last empty line the tail drops: the whole text may be blank
                whole = head[bom:].split("\n")
                return Edges(whole, tail, len(head) - bom, whole=True, bom=bom)
            raw = fh.read(EDGE)
            head = self._text(raw, False)
            head = head[: head.rfind("\n") + 1]
            start = self.size - EDGE
            fh.seek(start - start % code_unit(self.encoding))
            tail = self._text(fh.read(), True, fixed_order(self.encoding, raw))
            tail = tail[tail.find("\n") + 1 :]
        # a byte-order mark the named --encoding leaves in (detection consumes it)
        bom = 1 if head.startswith("\ufeff") else 0
        edges = Edges(lines_of(head[bom:]), lines_of(tail), len(tail), whole=False, bom=bom)
        if not self.options.strip or not self.named:
            return edges
        no_start = gutenberg.find_start(edges.head)[1] is None
        no_end = gutenberg.find_end(edges.tail, 0)[1] is None
        if not (no_start or no_end):
            return edges
        found = gutenberg.locate(self._text_blocks(), EDGE)
        self.total_chars = found.chars
        if no_start and found.head is not None:
            w = found.head
            edges.head, edges.bom = lines_of(w.text), 0
            edges.before, edges.before_lines = w.offset, w.line
        if no_end and found.tail is not None:
            w = found.tail
            edges.tail, edges.tail_len = lines_of(w.text), len(w.text)
            edges.after = found.chars - w.offset - len(w.text)
            edges.after_lines = found.lines - w.line - len(edges.tail)
            edges.beyond = [t for line, t in found.markers if line >= w.line + len(edges.tail)]
        return edges

    def _plan(self) -> None:
        """Characters to drop at the top and bottom, and what the report says of them."""
        cut = plan_cut(self._edges(), strip=self.options.strip, source=self.source)
        self.head_chars, self.tail_chars = cut.head_chars, cut.tail_chars
        self.removed_top, self.removed_bottom = cut.removed_top, cut.removed_bottom
        self.first_line, self.last_line = cut.first_line, cut.last_line
        self.start_marker, self.end_marker = cut.start_marker, cut.end_marker
        self.notes, self.holes = cut.notes, cut.holes
        self.notices = notices(
            self.source,
            replaced=self.replaced,
            literal=self.literal,
            cut=cut if self.options.strip else None,
        )

    def _text_blocks(self) -> Iterator[str]:
        """The whole decoded, newline-normalised text in blocks, as the cuts count it."""
        errors = "replace" if self.replaced else "strict"
        try:
            with self.opener() as fh:
                yield from text_blocks(fh, self.encoding, errors, BLOCK)
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{self.source} changed while it was read: {exc}") from exc

    def _raw_lines(self) -> Iterator[str]:
        """Decoded, newline-normalised text between the cuts, in blocks of whole lines.

        The footer is held back as it is read, unless the whole text's length is known (the
        marker search read it): a footer of hundreds of megabytes after a far end marker is
        then never read, let alone held.
        """
        head, hold, pending = self.head_chars, self.tail_chars, ""
        # the header and the notes inside the front matter, as spans of the whole text
        dropped = ((0, head), *((head + lo, head + hi) for lo, hi in self.holes))
        gone = sum(hi - lo for lo, hi in dropped)
        left = None if self.total_chars is None else max(0, self.total_chars - gone - hold)
        if left is not None:
            hold = 0
        for block in drop_spans(self._text_blocks(), dropped):
            if left is not None:
                block, left = block[:left], left - min(left, len(block))
            pending += block
            ready = len(pending) - hold
            cut = pending.rfind("\n", 0, ready) + 1 if ready > 0 else 0
            if cut == 0 and ready > 8 * BLOCK:
                cut = ready  # a huge line: cut it rather than hold it all
            if cut:
                yield pending[:cut]
                pending = pending[cut:]
            if left == 0:
                break
        rest = pending[: len(pending) - hold]
        if rest:
            yield rest

    def chunks(self) -> Iterator[str]:
        """The cleaned text, ending in one newline; counts its characters for the report.

        Blank lines are held back until more text follows: the plan trims blank lines only in
        the head and tail it reads, and cleaning (--ascii, --keep-chars) can empty lines, so
        the text neither starts nor ends with blank lines whatever the file holds.
        """
        transform = Transform(self.options)
        words = self.options.words_only
        chars = 0
        strip = self.options.strip
        # a run of blank lines of any length (a file of them, or lines --ascii empties) waits
        # in a spooled file: memory, then disk past HELD_IN_MEMORY
        with tempfile.SpooledTemporaryFile(
            max_size=HELD_IN_MEMORY, mode="w+", encoding="utf-8", errors="surrogatepass"
        ) as held:
            for raw in self._raw_lines():
                # every marker names Project Gutenberg: a substring test is cheaper than the regex
                if (
                    strip
                    and gutenberg.names_gutenberg(raw)
                    and (found := gutenberg.MARKER.search(raw))
                ):
                    raise several_books(self.source, raw[found.start() :].split("\n", 1)[0].strip())
                if "\x1a" in raw:  # DOS end-of-file marks (Ctrl-Z) in older ebooks
                    raw = raw.replace("\x1a", "")
                text = transform(raw)
                if words:
                    if not text:
                        continue
                    text = " " + text if chars else text
                else:
                    body = through_last_text_line(text)
                    if not body:
                        if chars:
                            held.write(text)
                        continue
                    rest = text[len(body) :]
                    if not chars:
                        body = body.lstrip("\n")
                    elif held.tell():
                        held.seek(0)
                        while piece := held.read(BLOCK):
                            chars += len(piece)
                            yield piece
                        held.seek(0)
                        held.truncate()
                    held.write(rest)
                    text = body
                chars += len(text)
                yield text
        if chars == 0:
            raise CorpusError(f"{self.source} is empty after cleaning")
        if transform.keeps_newline:
            chars += 1
            yield "\n"
        self._chars = chars

    @cached_property
    def chars(self) -> int:
        if self._chars is None:
            for _ in self.chunks():
                pass
        assert self._chars is not None
        return self._chars

    @property
    def report(self) -> CleanReport:
        return CleanReport(
            source=self.source,
            encoding=display_encoding(self.encoding),
            removed_top=self.removed_top,
            removed_bottom=self.removed_bottom,
            start_marker=self.start_marker,
            end_marker=self.end_marker,
            chars=self.chars,
            first_line=self.first_line,
            last_line=self.last_line,
            notices=self.notices,
            notes=self.notes,
        )


def clean_bytes(data: bytes, options: CleanOptions, *, source: str) -> CleanText:
    """Clean a whole in-memory file; the same code path as a streamed one."""
    doc = Document(source, bytes_opener(data), options)
    text = "".join(doc.chunks())
    return CleanText(text, doc.report)
