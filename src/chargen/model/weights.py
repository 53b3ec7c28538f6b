"""The weights file format: a Keras .weights.h5 stamped with the checksum of its arrays and of
the vocabulary it predicts, so damaged or mismatched weights are refused before use."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

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


def read_arrays(
    path: Path, *, cell: str, layer_sizes: list[int], layer_norm: bool
) -> dict[str, Any]:
    """The model's arrays straight from a Keras .weights.h5, without Keras.

    Keras names each layer's group by its class in snake case, numbered in model order
    (`lstm`, `lstm_1`, ...; `layer_normalization`, ...; `embedding`, `dense`), and each
    layer's variables in creation order. Shapes are checked against the run's config, so a
    file for another architecture is a RunError, never a wrong answer.
    """

    def group(kind: str, i: int) -> str:
        return kind if i == 0 else f"{kind}_{i}"

    def arrays(h5: h5py.File, name: str, count: int) -> list[np.ndarray]:
        try:
            return [np.asarray(h5[f"layers/{name}/vars/{k}"][()], np.float32) for k in range(count)]
        except KeyError:
            raise RunError(
                f"{path}: no weights for layer {name!r}; not the model in the run's config"
            ) from None

    try:
        with h5py.File(path, "r") as h5:
            embedding = arrays(h5, "embedding", 1)[0]
            recurrent = [arrays(h5, f"{group(cell, i)}/cell", 3) for i in range(len(layer_sizes))]
            norms = (
                [arrays(h5, group("layer_normalization", i), 2) for i in range(len(layer_sizes))]
                if layer_norm
                else []
            )
            dense = arrays(h5, "dense", 2)
            extra = f"layers/{group(cell, len(layer_sizes))}" in h5
    except (OSError, ValueError, RuntimeError) as exc:
        raise RunError(f"{path} is not a readable HDF5 file (truncated or damaged?)") from exc
    gates = {"lstm": 4, "gru": 3}[cell]
    width = embedding.shape[1]
    for (kernel, rec, _), units in zip(recurrent, layer_sizes, strict=True):
        if extra or kernel.shape != (width, gates * units) or rec.shape != (units, gates * units):
            raise RunError(
                f"{path}: its {cell} layers do not match the run's config ({cell} x {layer_sizes})"
            )
        width = units
    if dense[0].shape != (width, embedding.shape[0]):
        raise RunError(f"{path}: its output layer does not match the vocabulary")
    return {"embedding": embedding, "recurrent": recurrent, "norms": norms, "dense": dense}
