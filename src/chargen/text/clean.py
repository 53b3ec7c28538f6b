"""Raw bytes to clean text: decoding, newline and Unicode normalisation, character options.

The Gutenberg trim lives in gutenberg.py and the streaming reader in document.py; this module
holds what both the corpus and a seed text go through, so sampling sees what training saw.
"""

from __future__ import annotations

import codecs
import itertools
import re
import threading
import unicodedata
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, NamedTuple

from chargen.errors import ConfigError, CorpusError
from chargen.text.words import stopwords, to_words

# Punctuation NFKD does not reduce to ASCII; everything else non-ASCII is decomposed and
# stripped of its accents, or dropped.
_ASCII = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "--",
        "\u2015": "--", "\u2212": "-", "\u00ad": "", "\u2026": "...", "\u00a0": " ",
        "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE",
        "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u00f0": "d",
        "\u00d0": "D", "\u00fe": "th", "\u00de": "Th", "\u00b7": ".", "\u2022": "*",
        "\ufeff": "",
    }
)  # fmt: skip
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
_errors = threading.local()


def _count_error(exc: UnicodeError) -> tuple[str, int]:
    """Replace an undecodable sequence by U+FFFD and count it: a count taken from the output
    would also count the U+FFFD characters a valid file holds (see detect_encoding)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _errors.count += 1
    return REPLACEMENT, exc.end


codecs.register_error("chargen-count", _count_error)


@dataclass(frozen=True, kw_only=True)
class CleanOptions:
    """How raw text becomes training text; stored with prepared data so sampling matches."""

    strip: bool = True
    lowercase: bool = False
    encoding: str | None = None
    ascii: bool = False
    min_char_count: int = 1
    keep_chars: str | None = None
    words_only: bool = False
    drop_stopwords: str | None = None

    def __post_init__(self) -> None:
        if self.min_char_count < 1:
            raise ConfigError(f"--min-char-count must be at least 1, got {self.min_char_count}")
        if self.drop_stopwords and not self.words_only:
            raise ConfigError("--drop-stopwords needs --words-only")
        if self.keep_chars is not None:
            try:
                re.compile(self.keep_chars)
            except re.error as exc:
                raise ConfigError(
                    f"--keep-chars {self.keep_chars!r} is not a regex: {exc}"
                ) from exc
        if self.encoding is not None:
            try:
                info = codecs.lookup(self.encoding)
            except LookupError as exc:
                raise ConfigError(f"unknown encoding {self.encoding!r}") from exc
            # bytes-to-bytes codecs (hex, base64, rot13) are in the same registry
            if not getattr(info, "_is_text_encoding", True):
                raise ConfigError(f"{self.encoding!r} is not a text encoding")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanOptions:
        """Options recorded with a vocabulary; unknown keys from other versions are ignored."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


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
    notes: tuple[str, ...] = ()  # first line of each production note removed at the top


@dataclass(frozen=True)
class CleanText:
    text: str
    report: CleanReport


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
    Windows-1252 would turn every accent into mojibake); else Windows-1252 (a superset of the
    ISO-8859-1 that older Gutenberg `-8` files use); else an error asking for --encoding
    (`flag` False: a file read where there is no --encoding, such as a seed file).

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
    nonascii, replacements, cp1252_ok, offset = 0, 0, True, 0
    for block in itertools.chain([first], blocks):
        check_text(block, source, offset, flag=flag)
        text = utf8.decode(block)
        if not text.isascii():
            replacements += text.count(REPLACEMENT)
            nonascii += len(text) - len(text.encode("ascii", "ignore"))
            if cp1252_ok and any(b in block for b in _CP1252_UNDEFINED):
                cp1252_ok = False
        offset += len(block)
    replacements += utf8.decode(b"", final=True).count(REPLACEMENT)
    bad = _errors.count
    multibyte = nonascii - bad
    if bad == 0 or multibyte >= 20 * bad:
        return Detected("utf-8-sig", bad, replacements - bad)
    if cp1252_ok:
        return Detected("cp1252", 0)
    fix = "pass --encoding" if flag else "save it as UTF-8"
    raise CorpusError(f"{source} is neither UTF-8 nor Windows-1252; {fix}")


def display_encoding(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


def to_ascii(text: str) -> str:
    """Curly quotes, dashes and accents to ASCII; what has no ASCII form is dropped."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_ASCII))
    text = text.replace("\u2044", "/")  # NFKD spells vulgar fractions with a fraction slash
    return text.encode("ascii", "ignore").decode("ascii")


class Transform:
    """Per-block character options, applied after the Gutenberg trim and NFC."""

    def __init__(self, options: CleanOptions) -> None:
        self.options = options
        self._kept: dict[str, bool] = {}
        self._drop: dict[int, None] = {}

    @cached_property
    def _keep(self) -> re.Pattern[str] | None:
        k = self.options.keep_chars
        return None if k is None else re.compile(k)

    @cached_property
    def _stopwords(self) -> frozenset[str] | None:
        lang = self.options.drop_stopwords
        return stopwords(lang) if lang else None

    @property
    def keeps_newline(self) -> bool:
        """Whether a line break survives `--keep-chars` (documents end with one if so)."""
        return self._keep is None or self._keep.fullmatch("\n") is not None

    def check(self) -> None:
        """Fail early (missing NLTK data) before any output is produced."""
        _ = self._stopwords

    def __call__(self, text: str) -> str:
        o = self.options
        text = unicodedata.normalize("NFC", text)
        if o.ascii:
            text = to_ascii(text)
        if o.lowercase:
            text = text.lower()
        if self._keep is not None:
            text = self._filter(text)
        if o.words_only:
            text = " ".join(to_words(text, self._stopwords))
        return text

    def _filter(self, text: str) -> str:
        for ch in set(text).difference(self._kept):
            keep = self._keep.fullmatch(ch) is not None  # type: ignore[union-attr]
            self._kept[ch] = keep
            if not keep:
                self._drop[ord(ch)] = None
        return text.translate(self._drop) if self._drop else text


def normalise_seed(text: str, options: CleanOptions) -> str:
    """The normalisation a prime text needs to match the training text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = Transform(options)(text)
    if options.words_only and out and text[-1:].isspace():
        out += " "
    return out
