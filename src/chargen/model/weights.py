"""The weights file format: a Keras .weights.h5 stamped with the checksum of its arrays and of
the vocabulary it predicts, so damaged or mismatched weights are refused before use."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np

from chargen.errors import RunError

SHA_ATTR = "chargen_sha256"
VOCAB_ATTR = "chargen_vocab_sha256"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def h5_digest(h5: h5py.File) -> str:
    """SHA-256 over every dataset's name, shape, dtype and bytes, in sorted order."""
    names: list[str] = []
    h5.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    digest = hashlib.sha256()
    for name in sorted(names):
        data = np.asarray(h5[name][()])
        digest.update(f"{name}|{data.shape}|{data.dtype.str}|".encode())
        digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


def stamp_h5(path: Path, *, vocab_json: str) -> None:
    """Record the content checksum and the vocabulary a weights file belongs to (before rename)."""
    with h5py.File(path, "a") as h5:
        h5.attrs[SHA_ATTR] = h5_digest(h5)
        h5.attrs[VOCAB_ATTR] = text_sha256(vocab_json)


def verify_h5(path: Path, *, vocab_json: str | None = None) -> None:
    """Refuse a truncated or altered file, or one stamped for another vocabulary."""
    if not path.is_file():
        raise RunError(f"file not found: {path}")
    try:
        with h5py.File(path, "r") as h5:
            stored = h5.attrs.get(SHA_ATTR)
            vocab_sha = h5.attrs.get(VOCAB_ATTR)
            actual = h5_digest(h5) if stored is not None else None
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise RunError(f"{path} is not a readable HDF5 file (truncated or damaged?)") from exc
    if stored is not None and str(stored) != actual:
        raise RunError(f"{path} is damaged: checksum mismatch")
    if (
        vocab_json is not None
        and vocab_sha is not None
        and str(vocab_sha) != text_sha256(vocab_json)
    ):
        raise RunError(f"{path} was trained with another vocabulary than this run's vocab.json")
