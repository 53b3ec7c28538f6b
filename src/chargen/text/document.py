"""One corpus source cleaned in a streaming pass: bounded memory whatever the file size.

A first pass checks the bytes (text, encoding, hash); the Gutenberg cut is found in the head
and tail only; each later pass decodes blocks, drops the header characters, holds back the
footer characters and cleans whole lines, so a file is never held in memory, let alone twice.
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
from chargen.text.clean import (
    CleanOptions,
    CleanReport,
    CleanText,
    Transform,
    code_unit,
    detect_encoding,
    display_encoding,
    fixed_order,
    validate,
)

BLOCK = 1 << 20  # bytes or characters read at a time
EDGE = 1 << 20  # bytes of head and tail searched for Gutenberg markers
HELD_IN_MEMORY = 16 << 20  # characters of held-back blank lines kept in memory, then on disk

Opener = Callable[[], BinaryIO]


def _shown(line: str) -> str:
    """A line for the report, without spaces or DOS end-of-file marks (Ctrl-Z) around it."""
    return line.strip().strip("\x1a").strip()


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

        def hashed() -> Iterator[bytes]:
            nonlocal size, blank
            for block in self._blocks():
                digest.update(block)
                size += len(block)
                blank = blank and not block.strip()
                yield block

        if self.options.encoding is None:
            self.encoding, self.replaced, self.literal = detect_encoding(hashed(), self.source)
        else:
            self.encoding = self.options.encoding
            self.literal = validate(hashed(), self.encoding, self.source)
        self.sha256, self.size = digest.hexdigest(), size
        if blank:  # UTF-16/32 whitespace is not blank bytes: _plan finds those empty
            raise CorpusError(f"{self.source} is empty")

    def _text(self, data: bytes, final: bool, encoding: str | None = None) -> str:
        decoder = codecs.getincrementaldecoder(encoding or self.encoding)(errors="replace")
        text = decoder.decode(data, final)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _plan(self) -> None:
        """Characters to drop at the top and bottom, from the head and tail of the file."""
        with self.opener() as fh:
            if self.size <= 2 * EDGE:
                head = tail = self._text(fh.read(), True)
                whole = True
            else:
                raw = fh.read(EDGE)
                head = self._text(raw, False)
                head = head[: head.rfind("\n") + 1]
                start = self.size - EDGE
                fh.seek(start - start % code_unit(self.encoding))
                tail = self._text(fh.read(), True, fixed_order(self.encoding, raw))
                tail = tail[tail.find("\n") + 1 :]
                whole = False
        # a byte-order mark the named --encoding leaves in (detection consumes it)
        bom = 1 if head.startswith("\ufeff") else 0
        head = head[bom:]
        if whole:
            tail = head
        hl, tl = head.split("\n"), tail.split("\n")
        if tl and tl[-1] == "":
            tl.pop()  # the final newline ends the last line; it starts no new one
        if not whole and hl[-1] == "":
            hl.pop()  # the head was cut after a newline (or holds no whole line at all)
        first, start_marker = 0, None
        if self.options.strip:
            first, start_marker = gutenberg.find_start(hl)
            if start_marker is not None:
                first = gutenberg.skip_notes(hl, first)
        while first < len(hl) and not hl[first].strip():
            first += 1
        end, end_marker = len(tl), None
        if self.options.strip:
            end, end_marker = gutenberg.find_end(tl, first if whole else 0)
        if end_marker is not None:
            extra = gutenberg.another_book(tl, end + 1)
            if extra is not None:
                raise self._several_books(extra)
        last = gutenberg.last_text_line(tl, end, first if whole else 0)
        if whole and last < first:
            if start_marker or end_marker:
                raise CorpusError(
                    f"{self.source} holds only a Project Gutenberg header and licence, no text"
                )
            raise CorpusError(f"{self.source} is empty")
        self.head_chars = bom + sum(len(line) + 1 for line in hl[:first])
        self.tail_chars = max(0, len(tail) - sum(len(line) + 1 for line in tl[: last + 1]))
        self.removed_top, self.removed_bottom = first, len(tl) - last - 1
        # a big file's head or tail may hold no kept line (a 1 MB line, 1 MB of blank lines)
        self.first_line = _shown(hl[first]) if first < len(hl) else ""
        self.last_line = _shown(tl[last]) if 0 <= last < len(tl) else ""
        self.start_marker, self.end_marker = start_marker, end_marker
        notices = []
        if self.replaced:
            notices.append(
                f"{self.source}: {self.replaced} invalid UTF-8 byte sequence(s) replaced by U+FFFD"
            )
        if self.literal:
            notices.append(
                f"{self.source}: holds {self.literal} U+FFFD replacement character(s), "
                "damage done before the file was saved; kept as they are"
            )
        if self.options.strip:
            if start_marker is None and end_marker is None:
                notices.append(f"{self.source}: no Project Gutenberg markers; kept whole")
            elif start_marker is None:
                notices.append(f"{self.source}: end marker but no start marker; kept the top")
            elif end_marker is None:
                notices.append(f"{self.source}: start marker but no end marker; kept the bottom")
        self.notices = tuple(notices)

    def _several_books(self, marker: str) -> CorpusError:
        return CorpusError(
            f"{self.source} holds more than one Project Gutenberg ebook ({marker[:80]!r} is "
            "inside it); give each book as its own file (a directory of them works as --corpus), "
            "or keep everything with --no-strip"
        )

    def _raw_lines(self) -> Iterator[str]:
        """Decoded, newline-normalised text between the cuts, in blocks of whole lines."""
        errors = "replace" if self.replaced else "strict"
        fh = io.TextIOWrapper(self.opener(), encoding=self.encoding, errors=errors, newline=None)
        skip, hold, pending = self.head_chars, self.tail_chars, ""
        try:
            with fh:
                while block := fh.read(BLOCK):
                    if skip:
                        cut = min(skip, len(block))
                        block, skip = block[cut:], skip - cut
                    pending += block
                    ready = len(pending) - hold
                    cut = pending.rfind("\n", 0, ready) + 1 if ready > 0 else 0
                    if cut == 0 and ready > 8 * BLOCK:
                        cut = ready  # a huge line: cut it rather than hold it all
                    if cut:
                        yield pending[:cut]
                        pending = pending[cut:]
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{self.source} changed while it was read: {exc}") from exc
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
                # every marker names Project Gutenberg; the substring test is 15x the regex's speed
                if strip and "gutenberg" in raw.lower() and (found := gutenberg.MARKER.search(raw)):
                    raise self._several_books(raw[found.start() :].split("\n", 1)[0].strip())
                if "\x1a" in raw:  # DOS end-of-file marks (Ctrl-Z) in older ebooks
                    raw = raw.replace("\x1a", "")
                text = transform(raw)
                if words:
                    if not text:
                        continue
                    text = " " + text if chars else text
                else:
                    body = _through_last_text_line(text)
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
        )


def _through_last_text_line(text: str) -> str:
    """`text` up to the end of its last line with a non-blank character ("" if none)."""
    stripped = text.rstrip()
    if not stripped:
        return ""
    end = text.find("\n", len(stripped))
    return text if end < 0 else text[:end]


def clean_bytes(data: bytes, options: CleanOptions, *, source: str) -> CleanText:
    """Clean a whole in-memory file; the same code path as a streamed one."""
    doc = Document(source, bytes_opener(data), options)
    text = "".join(doc.chunks())
    return CleanText(text, doc.report)
