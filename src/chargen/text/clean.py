"""Decoded text to clean text: Unicode normalisation and the character options.

Decoding lives in decode.py, the Gutenberg trim in gutenberg.py and the streaming reader in
document.py; this module holds what both the corpus and a seed text go through, so sampling
sees what training saw.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from chargen.errors import ConfigError
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
    notes: tuple[str, ...] = ()  # first line of each production note removed


@dataclass(frozen=True)
class CleanText:
    text: str
    report: CleanReport


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
