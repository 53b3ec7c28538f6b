"""The prepared file: corpus ids in HDF5, written once, read in ranges.

The corpus is encoded once to ids (uint8 when the vocabulary fits) and written to one HDF5 file
with checksummed chunks; data/windows.py cuts the training windows from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import numpy as np
import numpy.typing as npt

from chargen import __version__
from chargen.data.spool import read_units, spool_units
from chargen.data.vocab import CodeUnits, Vocab, count_units
from chargen.data.writer import H5_CHUNK, write_ids
from chargen.errors import CorpusError, RunError
from chargen.files import TMP_PREFIX, atomic_path, check_space, nearest_folder, syncing

FORMAT = "chargen-prepared"
VERSION = 1
SPLITS = ("train", "val")


@dataclass(frozen=True)
class Prepared:
    """What a prepared file holds, read from its attributes (ids stay on disk)."""

    path: Path
    vocab: Vocab
    sizes: dict[str, int]
    attrs: dict[str, Any]

    @property
    def sha256(self) -> str:
        return str(self.attrs.get("source_sha256", ""))


def prepare(
    chunks: Callable[[], Iterable[str]],
    out: Path,
    *,
    val_fraction: float,
    normalisation: dict[str, Any],
    source_sha256: str,
    sources: list[str],
    min_char_count: int = 1,
    seq_len: int | None = None,
) -> Prepared:
    """One streaming pass over the cleaned text counts its characters and spools its code
    units (data/spool.py), a second over the spool encodes and writes them.

    `chunks` is called once, so memory holds one chunk, never the corpus.
    """
    with _spool(out) as spool:
        try:
            counts = count_units(spool_units(chunks(), spool))
        except OSError as exc:
            raise RunError(f"cannot write prepared file {out}: {h5_reason(exc)}") from exc
        total = sum(counts.values())
        n_val = int(round(total * val_fraction))
        n_train = total - n_val
        if n_train < 2 or n_val < 2:
            raise CorpusError(
                f"corpus too short: {total} characters leave {n_train} for training and "
                f"{n_val} for validation"
            )
        if seq_len is not None:
            _check_windows({"train": n_train, "val": n_val}, seq_len)
        vocab = _vocabulary(counts, min_char_count, normalisation)
        attrs = {
            "format": FORMAT,
            "version": VERSION,
            "chargen_version": __version__,
            "vocab": vocab.to_json(),
            "normalisation": json.dumps(normalisation, sort_keys=True),
            "source_sha256": source_sha256,
            "sources": json.dumps(sources),
            "val_fraction": val_fraction,
            "chars": total,
        }
        _write_file(out, attrs, vocab, read_units(spool), (n_train, n_val))
    return open_prepared(out)


def _write_file(
    out: Path,
    attrs: dict[str, Any],
    vocab: Vocab,
    pieces: Iterable[CodeUnits],
    sizes: tuple[int, int],
) -> None:
    """The HDF5 file: attributes, then both splits' ids, synced as they are written."""
    try:
        check_space(out, sum(sizes) * np.dtype(vocab.dtype).itemsize)
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5, syncing(tmp):
            for key, value in attrs.items():
                h5.attrs[key] = value
            sinks = {
                split: h5.create_dataset(
                    split, (n,), dtype=vocab.dtype, chunks=_chunk(n), fletcher32=True
                )
                for split, n in zip(SPLITS, sizes, strict=True)
            }
            write_ids(vocab, pieces, sinks, sizes[0])
    except (OSError, RuntimeError) as exc:  # h5py reports a full disk as a RuntimeError
        raise RunError(f"cannot write prepared file {out}: {h5_reason(exc)}") from exc


@contextlib.contextmanager
def _spool(out: Path) -> Iterator[BinaryIO]:
    """An anonymous temporary file on `out`'s disk (never a RAM-backed /tmp), in a folder
    that exists: none is made before the space for `out` is checked."""
    try:
        spool = tempfile.TemporaryFile(dir=nearest_folder(out), prefix=TMP_PREFIX)
    except OSError as exc:
        raise RunError(f"cannot write prepared file {out}: {h5_reason(exc)}") from exc
    with spool:
        yield spool


def _vocabulary(
    counts: dict[str, int], min_char_count: int, normalisation: dict[str, Any]
) -> Vocab:
    vocab = Vocab.from_counts(counts, min_count=min_char_count, normalisation=normalisation)
    if len(vocab) < 2:
        only = "the unknown symbol" if vocab.unknown else repr(vocab.chars[0])
        raise CorpusError(
            f"the vocabulary would hold only {only}: nothing to learn"
            + (f" (--min-char-count {min_char_count} is too high)" if vocab.unknown else "")
        )
    return vocab


def h5_reason(exc: BaseException) -> str:
    """The cause in an OS or HDF5 error, without HDF5's flags and temporary names."""
    text = str(exc)
    found = re.search(r"error message = '([^']+)'", text)
    if found:
        return found.group(1)
    found = re.search(r"errno = (\d+)", text)
    if found:
        return os.strerror(int(found.group(1)))
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return text.split(" (")[0] or type(exc).__name__


def _chunk(n: int) -> tuple[int]:
    return (max(1, min(n, H5_CHUNK)),)


def open_prepared(path: Path) -> Prepared:
    """Read and check a prepared file's header; damage is a one-line RunError, not a traceback."""
    if not path.is_file():
        raise RunError(f"prepared file not found: {path}")
    try:
        with h5py.File(path, "r") as h5:
            attrs = {k: _plain(v) for k, v in h5.attrs.items()}
            sizes = {s: int(h5[s].shape[0]) for s in SPLITS if s in h5}
    except OSError as exc:
        raise RunError(f"{path} is not a readable HDF5 file (truncated or damaged?)") from exc
    if attrs.get("format") != FORMAT:
        raise RunError(f"{path} is not a chargen prepared file")
    if attrs.get("version") != VERSION:
        raise RunError(
            f"{path} has prepared-file version {attrs.get('version')}, expected {VERSION}"
        )
    if set(sizes) != set(SPLITS):
        raise RunError(f"{path} is damaged: it lacks the train or val split")
    vocab = Vocab.from_json(str(attrs["vocab"]), source=f"{path} vocabulary")
    return Prepared(path=path, vocab=vocab, sizes=sizes, attrs=attrs)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def read_ids(path: Path, split: str) -> npt.NDArray[np.int32]:
    """A whole split in memory: for evaluation and tests, not for training on large corpora."""
    with h5py.File(path, "r") as h5:
        try:
            return h5[split][:].astype(np.int32)
        except OSError as exc:
            raise RunError(_damaged(path, split, exc)) from exc


def verify_ids(path: Path) -> None:
    """Read every chunk once, so HDF5 checks each chunk's Fletcher-32 checksum.

    A flipped bit in the ids would otherwise train silently on wrong characters, or fail deep
    inside tf.data. Reading costs about a second per GB. Files written before checksums were
    added have none to check and pass.
    """
    with h5py.File(path, "r") as h5:
        for split in SPLITS:
            ids = h5[split]
            for start in range(0, int(ids.shape[0]), H5_CHUNK):
                try:
                    ids[start : start + H5_CHUNK]
                except OSError as exc:
                    raise RunError(_damaged(path, split, exc)) from exc


def _damaged(path: Path, split: str, exc: OSError) -> str:
    return (
        f"{path} is damaged: its {split} ids fail their checksum ({exc}); "
        f"delete it and prepare the corpus again"
    )


def count_windows(n_ids: int, seq_len: int) -> int:
    """Windows of seq_len inputs + 1 target overlap by one id: stride seq_len."""
    return max(0, (n_ids - 1) // seq_len)


def check_fits(prepared: Prepared, seq_len: int) -> None:
    _check_windows(prepared.sizes, seq_len)


def _check_windows(sizes: dict[str, int], seq_len: int) -> None:
    """Each split must hold one window of seq_len inputs and its target."""
    for split in SPLITS:
        n = sizes[split]
        if count_windows(n, seq_len) < 1:
            raise CorpusError(
                f"corpus too short for seq_len {seq_len}: the {split} split has {n} characters, "
                f"needs at least {seq_len + 1}"
            )


def read_range(path: Path, split: str, start: int, stop: int) -> npt.NDArray[np.int32]:
    """Ids [start, stop) of a split (one pool in training), the file open only while it is
    read.

    Why: the generator must hold no h5py object across `yield`, not even a closed file (a
    `with h5py.File(...) as h5` leaves `h5` bound). When tf.data drops the iterator it frees
    the generator's frame on a tf.data thread, and freeing an h5py object takes h5py's lock;
    if the main thread is inside h5py then (a stop mid-epoch, then saving a checkpoint) and
    its h5py call is what dropped the iterator, each waits for the other forever. Reading
    happens in helpers like this one, whose frames are gone before the generator yields.
    """
    with h5py.File(path, "r") as h5:
        return h5[split][start:stop].astype(np.int32)


def split_size(path: Path, split: str) -> int:
    """Ids in a split; generators call it so the file lives in a frame of its own (`read_range`)."""
    with h5py.File(path, "r") as h5:
        return int(h5[split].shape[0])
