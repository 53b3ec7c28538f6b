"""Bytes to text: which encoding a file is in, and whether it really is text.

Both a corpus and a seed file are decoded here, so a prime decodes as the corpus did.
"""

from __future__ import annotations

import codecs
import itertools
import re
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from chargen.errors import CorpusError

_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
# UTF-16 and UTF-32 text is full of NUL bytes, so it is known by its byte-order mark before the
# binary check runs (UTF-32 LE first: its mark begins with UTF-16 LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
REPLACEMENT = "\ufffd"
# Gutenberg's header line naming the file's character set, from 2003 on
# (a whole line: a block may end inside it)
_DECLARED = re.compile(
    rb"^Character set encoding: *([^\r\n]{1,60})[\r\n]", re.IGNORECASE | re.MULTILINE
)
# what detection settles from the bytes alone: a header naming one of these adds nothing
_BY_BYTES = frozenset({"ascii", "utf-8", "utf-8-sig", "iso8859-1", "cp1252"})
_C1 = re.compile("[\x80-\x9f]")
# the Windows code page each ISO-8859 set's text is often saved in: a superset of its letters
_WINDOWS = {
    "iso8859-2": "cp1250",
    "iso8859-7": "cp1253",
    "iso8859-8": "cp1255",
    "iso8859-9": "cp1254",
    "iso8859-13": "cp1257",
}
_errors = threading.local()


def _count_error(exc: UnicodeError) -> tuple[str, int]:
    """Replace an undecodable sequence by U+FFFD and count it: a count taken from the output
    would also count the U+FFFD characters a valid file holds (see detect_encoding)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _errors.count += 1
    return REPLACEMENT, exc.end


codecs.register_error("chargen-count", _count_error)


def check_text(block: bytes, source: str, offset: int = 0, *, flag: bool = True) -> None:
    """Reject what is not text: NUL bytes mean binary in an 8-bit or UTF-8 file. ASCII text in
    UTF-16 without a byte-order mark has a NUL in every other byte; that gets a hint (to pass
    --encoding, or with `flag` False, where there is no such option, to save it as UTF-8)."""
    at = block.find(b"\x00")
    if at < 0:
        return
    hint = ""
    sample = block[:4096]
    half = len(sample) // 2
    if half >= 4:
        for order, zeros in (("le", sample[1::2]), ("be", sample[0::2])):
            if zeros.count(0) >= 0.9 * half:
                fix = f"pass --encoding utf-16-{order}" if flag else "save it as UTF-8"
                hint = f" (UTF-16 without a byte-order mark? {fix})"
    raise CorpusError(f"{source} looks binary (NUL byte at {offset + at}), not a text file{hint}")


def code_unit(encoding: str) -> int:
    """Bytes per code unit: 2 for UTF-16, 4 for UTF-32, else 1. Wide encodings hold NUL bytes
    in plain text, and a file can only be entered at a multiple of the unit."""
    name = codecs.lookup(encoding).name
    return 4 if name.startswith("utf-32") else 2 if name.startswith("utf-16") else 1


def fixed_order(encoding: str, head: bytes) -> str:
    """The codec that decodes from the middle of a file: `utf-16` and `utf-32` learn the byte
    order from the mark at the start, so a read that starts later must name it."""
    name = codecs.lookup(encoding).name
    if name not in ("utf-16", "utf-32"):
        return encoding
    big = head.startswith((codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE))
    return f"{name}-{'be' if big else 'le'}"


def check_wide(text: str, source: str, offset: int) -> None:
    """The binary check for UTF-16/32, on decoded text: a NUL character is not prose."""
    at = text.find("\x00")
    if at >= 0:
        raise CorpusError(
            f"{source} looks binary (NUL character at {offset + at}), not a text file"
        )


def validate(blocks: Any, encoding: str, source: str) -> int:
    """Decode every block strictly (an explicit or byte-order-marked encoding is a promise);
    returns how many U+FFFD characters the text holds, for the summary."""
    decoder = codecs.getincrementaldecoder(encoding)()
    wide = code_unit(encoding) > 1
    offset, chars, literal = 0, 0, 0
    for block in blocks:
        if not wide:
            check_text(block, source, offset)
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"{source} is not valid {encoding} (byte {offset + exc.start})"
            ) from exc
        except UnicodeError as exc:  # utf-16 / utf-32 without a byte-order mark
            raise CorpusError(
                f"{source} is not valid {encoding}: {exc}; name the byte order, "
                f"e.g. --encoding {encoding}-le"
            ) from exc
        if wide:
            check_wide(text, source, chars)
        literal += text.count(REPLACEMENT)
        offset, chars = offset + len(block), chars + len(text)
    try:
        literal += decoder.decode(b"", final=True).count(REPLACEMENT)
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{source} is not valid {encoding} (it ends mid-character)") from exc
    return literal


class Detected(NamedTuple):
    """What detect_encoding found: the codec, the invalid sequences it replaces, and the
    U+FFFD characters the file itself holds (damage done before it was saved)."""

    encoding: str
    replaced: int
    literal: int = 0


def detect_encoding(blocks: list[bytes] | Any, source: str, *, flag: bool = True) -> Detected:
    """The encoding, how many invalid UTF-8 sequences it leaves, and the U+FFFD it holds.

    UTF-16 or UTF-32 when the file starts with their byte-order mark (Windows "Unicode" files);
    UTF-8 (BOM or not) when every byte decodes, or when the file is UTF-8 with a few damaged
    bytes (valid multi-byte characters outnumber bad sequences 20 to 1: decoding it as
    Windows-1252 would turn every accent into mojibake); else the character set the Gutenberg
    header declares, when it is another one (ISO-8859-2, Big5, ...) and every byte decodes in
    it; else Windows-1252 (a superset of the ISO-8859-1 that older Gutenberg `-8` files use);
    else an error asking for --encoding (`flag` False: a file read where there is no
    --encoding, such as a seed file). The bytes come before the header: files that declare
    ISO-8859-1 but are UTF-8, or UTF-8 but hold Windows-1252, are read as their bytes say.

    Bad sequences are counted by the decoder's error handler, never by U+FFFD in its output:
    a valid UTF-8 file may hold U+FFFD characters, and counting those as errors once sent such
    files, with few other accents, to Windows-1252 and mojibake.
    """
    blocks = iter(blocks)
    first = next(blocks, b"")
    for bom, name in _BOMS:
        if first.startswith(bom):
            literal = validate(itertools.chain([first], blocks), name, source)
            return Detected(name, 0, literal)
    utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="chargen-count")
    _errors.count = 0
    declared = Declared()
    nonascii, replacements, cp1252_ok, offset = 0, 0, True, 0
    for block in itertools.chain([first], blocks):
        check_text(block, source, offset, flag=flag)
        if offset and block.isascii() and not utf8.getstate()[0] and declared.idle():
            offset += len(block)  # decodes to itself: nothing to count, no need to decode it
            continue
        text = utf8.decode(block)
        declared.feed(block)
        if not text.isascii():
            replacements += text.count(REPLACEMENT)
            # ASCII bytes decode to ASCII characters in the same call, never held or replaced
            nonascii += len(text) - int(np.count_nonzero(np.frombuffer(block, np.uint8) < 0x80))
            if cp1252_ok and any(b in block for b in _CP1252_UNDEFINED):
                cp1252_ok = False
        offset += len(block)
    replacements += utf8.decode(b"", final=True).count(REPLACEMENT)
    declared.feed(b"", final=True)
    bad = _errors.count
    multibyte = nonascii - bad
    if bad == 0 or multibyte >= 20 * bad:
        return Detected("utf-8-sig", bad, replacements - bad)
    if declared.encoding is not None:
        return Detected(declared.encoding, 0)
    if cp1252_ok:
        return Detected("cp1252", 0)
    fix = "pass --encoding" if flag else "save it as UTF-8"
    raise CorpusError(f"{source} is neither UTF-8 nor Windows-1252; {fix}")


class Declared:
    """The encoding a Gutenberg header names, when detection needs it (see detect_encoding),
    and whether the whole file decodes in it: strictly, and for an ISO-8859 set without the
    C1 controls that mean a Windows code page's bytes, in which case that code page (its
    superset, as Windows-1252 is ISO-8859-1's) is tried instead. The header is looked for in
    the first HEAD bytes, however they arrive in blocks."""

    HEAD = 64 << 10

    def __init__(self) -> None:
        self._head: bytes | None = b""  # None once the search is over
        self._decoders: dict[str, Any] = {}

    @property
    def encoding(self) -> str | None:
        """The first candidate every byte so far fits, if any."""
        return next(iter(self._decoders), None)

    def idle(self) -> bool:
        """Nothing to learn from an ASCII block: the search is over and no decoder holds a
        partial character (ASCII bytes can end a multibyte one)."""
        return self._head is None and not any(d.getstate()[0] for d in self._decoders.values())

    def feed(self, block: bytes, final: bool = False) -> None:
        if self._head is not None:
            self._head += block
            match = _DECLARED.search(self._head[: self.HEAD] + (b"\n" if final else b""))
            if match is None and len(self._head) < self.HEAD and not final:
                return
            block, self._head = self._head, None
            for name in _candidates(match.group(1) if match else b""):
                self._decoders[name] = codecs.getincrementaldecoder(name)()
        for name, decoder in list(self._decoders.items()):
            try:
                text = decoder.decode(block, final)
            except UnicodeDecodeError:
                del self._decoders[name]
                continue
            if name.startswith("iso8859") and _C1.search(text):
                del self._decoders[name]


def _candidates(declared: bytes) -> list[str]:
    """The codec a header's value names and its Windows superset; none for a set detection
    settles from the bytes alone, a wide one, or a name Python does not know."""
    value = declared.decode("ascii", "replace").strip()
    for name in (value, value.split(" ")[0], value.replace(" ", "-")):
        try:
            info = codecs.lookup(name)
        except LookupError:
            continue
        if not getattr(info, "_is_text_encoding", True) or code_unit(info.name) > 1:
            return []
        if info.name in _BY_BYTES:
            return []
        return [info.name] + ([_WINDOWS[info.name]] if info.name in _WINDOWS else [])
    return []


def text_blocks(fh: BinaryIO, encoding: str, errors: str, size: int) -> Iterator[str]:
    """The decoded text with universal newlines, in blocks of exactly `size` characters (the
    last one shorter): what `io.TextIOWrapper(fh, newline=None).read(size)` returns.

    Why not TextIOWrapper: it decodes and translates newlines in small steps, and is most of
    the cost of a cleaning pass (docs/performance.md); here each block is decoded at once and
    translated only when it holds a CR. A CR ending a block waits for the next one, which may
    begin with its LF.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    pending, cr = "", False
    while True:
        data = fh.read(size)
        text = decoder.decode(data, final=not data)
        if cr:
            text = "\r" + text
        cr = bool(data) and text.endswith("\r")
        if cr:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        pending = pending + text if pending else text
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
        if not data:
            break
    if pending:
        yield pending


def display_encoding(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding
