"""Characters <-> ids: sorted, saved as readable JSON with the normalisation it expects."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.errors import VocabError
from chargen.files import write_text_atomic

FORMAT = "chargen-vocab"
VERSION = 1
UNKNOWN = "\ufffd"  # stands for every character too rare to keep (min_char_count)


@dataclass(frozen=True)
class Vocab:
    """Sorted characters; the id of a character is its index.

    Sorted order (not first-seen) makes the ids a function of the character set alone, so two
    corpora with the same characters share ids. `unknown`, when set, is itself in `chars` and
    absorbs characters outside the vocabulary; without it they are an error.
    """

    chars: tuple[str, ...]
    unknown: str | None = None
    normalisation: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.chars:
            raise VocabError("vocabulary is empty")
        if any(len(c) != 1 for c in self.chars):
            raise VocabError("vocabulary entries must be single characters")
        if list(self.chars) != sorted(set(self.chars)):
            raise VocabError("vocabulary characters must be unique and sorted")
        if self.unknown is not None and self.unknown not in self.chars:
            raise VocabError(f"unknown symbol {self.unknown!r} is not in the vocabulary")
        codepoints = np.fromiter((ord(c) for c in self.chars), dtype=np.int64)
        lut = np.full(int(codepoints.max()) + 1, -1, dtype=np.int32)
        lut[codepoints] = np.arange(len(self.chars), dtype=np.int32)
        object.__setattr__(self, "_lut", lut)
        object.__setattr__(self, "_array", np.array(self.chars, dtype=object))
        object.__setattr__(self, "_set", frozenset(self.chars))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def dtype(self) -> np.dtype:
        """Smallest unsigned type that holds every id: uint8 is a quarter of int32 on disk."""
        if len(self) <= 2**8:
            return np.dtype(np.uint8)
        if len(self) <= 2**16:
            return np.dtype(np.uint16)
        return np.dtype(np.uint32)

    @property
    def unknown_id(self) -> int | None:
        return None if self.unknown is None else self.chars.index(self.unknown)

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        *,
        min_count: int = 1,
        normalisation: Mapping[str, Any] | None = None,
    ) -> Vocab:
        """Keep characters seen at least `min_count` times; the rest share the unknown symbol."""
        kept = {c for c, n in counts.items() if n >= min_count and n > 0}
        dropped = any(0 < n < min_count for n in counts.values())
        unknown = UNKNOWN if dropped else None
        if unknown is not None:
            kept.add(unknown)
        return cls(tuple(sorted(kept)), unknown, dict(normalisation or {}))

    @classmethod
    def from_text(cls, text: str, **kwargs: Any) -> Vocab:
        return cls.from_counts(count_chars([text]), **kwargs)

    def missing(self, text: str) -> list[str]:
        """Characters of `text` that have no id (sorted, unique)."""
        known: frozenset[str] = self._set  # type: ignore[attr-defined]
        return sorted(set(text) - known)

    def encode(self, text: str) -> npt.NDArray[np.int32]:
        """Ids of `text`; characters outside the vocabulary map to `unknown` or raise."""
        cps = _code_points(text)
        lut: npt.NDArray[np.int32] = self._lut  # type: ignore[attr-defined]
        if not len(cps) or int(cps.max()) < len(lut):
            ids = lut[cps]  # the common case: one gather, no masks
        else:
            inside = cps < len(lut)
            ids = np.full(cps.shape, -1, dtype=np.int32)
            ids[inside] = lut[cps[inside]]
        bad = ids < 0
        if bad.any():
            if self.unknown is None:
                shown = "".join(self.missing(text)[:20])
                raise VocabError(f"characters not in the vocabulary: {shown!r}")
            ids[bad] = self.unknown_id
        return ids

    def encode_compact(self, text: str) -> npt.NDArray[np.unsignedinteger]:
        """Ids of `text` in `dtype`, as prepare stores them: `encode(text).astype(dtype)`."""
        return self.encode_units(code_units(text))

    def encode_units(self, units: CodeUnits) -> npt.NDArray[np.unsignedinteger]:
        """Ids of text given as `code_units`, in `dtype`, without int32 ids and their checks.

        Why: one table lookup per character (`bytes.translate` on Latin-1 text, a 65,536-entry
        `np.take` on the basic plane) is most of prepare's encoding speed (docs/performance.md).
        """
        lut, missing = self._compact_lut
        if lut is None or (not isinstance(units, bytes) and units.dtype != np.uint16):
            return self.encode(units_text(units)).astype(self.dtype)
        if not isinstance(units, bytes):
            ids = np.take(lut, units)
        elif lut.dtype == np.uint8:
            ids = np.frombuffer(units.translate(lut[:256].tobytes()), np.uint8)
        else:
            ids = np.take(lut[:256], np.frombuffer(units, np.uint8))
        if missing is not None and (ids == missing).any():
            self.encode(units_text(units))  # raises, naming the characters
        return ids

    @cached_property
    def _compact_lut(self) -> tuple[npt.NDArray[np.unsignedinteger] | None, int | None]:
        """Ids of the basic plane in `dtype`, and the value marking a character outside the
        vocabulary when there is no unknown symbol to map it to (None: nothing to check)."""
        dtype = self.dtype
        top = int(np.iinfo(dtype).max)
        if dtype == np.uint32 or (self.unknown is None and len(self) > top):
            return None, None  # no free value to mark a missing character: `encode` checks
        missing = None if self.unknown is not None else top
        lut = np.full(1 << 16, self.unknown_id if missing is None else top, dtype=dtype)
        bmp = [(ord(c), i) for i, c in enumerate(self.chars) if ord(c) < 1 << 16]
        if bmp:
            cps, ids = zip(*bmp, strict=True)
            lut[list(cps)] = ids
        return lut, missing

    def decode(self, ids: Iterable[int] | npt.NDArray[np.integer]) -> str:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise VocabError(f"id out of range for a vocabulary of {len(self)}")
        return "".join(self._array[arr].tolist())  # type: ignore[attr-defined]

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "version": VERSION,
            "size": len(self),
            "chars": list(self.chars),
            "unknown": self.unknown,
            "normalisation": dict(self.normalisation),
        }
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "vocabulary") -> Vocab:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VocabError(f"{source} is not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VocabError(f"{source} is not a chargen vocabulary")
        if data.get("version") != VERSION:
            raise VocabError(
                f"{source} has vocabulary version {data.get('version')}, expected {VERSION}"
            )
        try:
            vocab = cls(tuple(data["chars"]), data.get("unknown"), data.get("normalisation") or {})
        except (KeyError, TypeError) as exc:
            raise VocabError(f"{source} is damaged: {exc}") from exc
        if data.get("size", len(vocab)) != len(vocab):
            raise VocabError(f"{source} is damaged: size {data['size']} != {len(vocab)} characters")
        return vocab

    def save(self, path: Path) -> None:
        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Vocab:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VocabError(f"cannot read vocabulary {path}: {exc}") from exc
        return cls.from_json(text, source=str(path))


def _code_points(text: str) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint32]:
    """Code points as an array; ASCII text (most corpora) as bytes, a quarter of the memory."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


CodeUnits = bytes | npt.NDArray[np.uint16] | npt.NDArray[np.uint32]


def code_units(text: str) -> CodeUnits:
    """Code points in the narrowest form that holds them: Latin-1 bytes (every ASCII corpus),
    UTF-16 code units when all are in the basic plane, else UTF-32."""
    if text.isascii():
        return text.encode("ascii")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) == 2 * len(text):  # no character needed a surrogate pair
        return np.frombuffer(units, dtype=np.uint16)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def units_text(units: CodeUnits) -> str:
    if isinstance(units, bytes):
        return units.decode("latin-1")
    wide = "utf-16-le" if units.dtype == np.uint16 else "utf-32-le"
    return units.tobytes().decode(wide, "surrogatepass")


def _bincount(units: CodeUnits) -> npt.NDArray[np.int64]:
    """Counts by code point. Bytes are counted two at a time, as 16-bit pairs whose two halves
    are then summed: half the elements for bincount, which converts each to a 64-bit index."""
    if not isinstance(units, bytes):
        return np.bincount(units)
    pairs = np.bincount(np.frombuffer(units, np.uint16, count=len(units) // 2), minlength=1 << 16)
    grid = pairs.reshape(256, 256)
    counts = grid.sum(axis=0) + grid.sum(axis=1)
    if len(units) % 2:
        counts[units[-1]] += 1
    return counts


def count_chars(chunks: Iterable[str]) -> dict[str, int]:
    """Character counts over text pieces, via bincount on code points (fast on large corpora)."""
    return count_units(code_units(chunk) for chunk in chunks if chunk)


def count_units(pieces: Iterable[CodeUnits]) -> dict[str, int]:
    """Character counts over text pieces given as `code_units`."""
    total = np.zeros(0, dtype=np.int64)
    for units in pieces:
        counts = _bincount(units)
        if len(counts) > len(total):
            counts[: len(total)] += total
            total = counts
        else:
            total[: len(counts)] += counts
    nonzero = np.flatnonzero(total)
    return {chr(int(cp)): int(total[cp]) for cp in nonzero}
