"""Corpus ids in HDF5, and the tf.data windows training reads from them.

The corpus is encoded once to ids (uint8 when the vocabulary fits) and written to one HDF5 file.
Training never holds more than a few blocks of ids in memory and never builds one-hot arrays:
windows of `seq_len + 1` ids are cut from blocks read in order and shuffled within a bounded pool.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from chargen import __version__
from chargen.data.vocab import Vocab, count_chars
from chargen.errors import CorpusError, RunError
from chargen.files import atomic_path, check_space

FORMAT = "chargen-prepared"
VERSION = 1
SPLITS = ("train", "val")
H5_CHUNK = 1 << 20  # ids per HDF5 chunk: large sequential reads, small random-access waste
PREFETCH = 2  # batches read ahead of the training step
POOL_CHARS = 1 << 23  # ids shuffled together; bounds training memory whatever the corpus size


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
    """Two streaming passes over the cleaned text: count characters, then encode and write.

    `chunks` is called once per pass, so memory holds one chunk, never the corpus.
    """
    counts = count_chars(chunks())
    total = sum(counts.values())
    n_val = int(round(total * val_fraction))
    n_train = total - n_val
    if n_train < 2 or n_val < 2:
        raise CorpusError(
            f"corpus too short: {total} characters leave {n_train} for training and {n_val} "
            f"for validation"
        )
    if seq_len is not None:
        _check_windows({"train": n_train, "val": n_val}, seq_len)
    vocab = Vocab.from_counts(counts, min_count=min_char_count, normalisation=normalisation)
    if len(vocab) < 2:
        only = "the unknown symbol" if vocab.unknown else repr(vocab.chars[0])
        raise CorpusError(
            f"the vocabulary would hold only {only}: nothing to learn"
            + (f" (--min-char-count {min_char_count} is too high)" if vocab.unknown else "")
        )
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
    try:
        check_space(out, total * np.dtype(vocab.dtype).itemsize)
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
            for key, value in attrs.items():
                h5.attrs[key] = value
            sinks = {
                split: h5.create_dataset(
                    split, (n,), dtype=vocab.dtype, chunks=_chunk(n), fletcher32=True
                )
                for split, n in (("train", n_train), ("val", n_val))
            }
            _write_ids(vocab, chunks(), sinks, n_train)
    except (OSError, RuntimeError) as exc:  # h5py reports a full disk as a RuntimeError
        raise RunError(f"cannot write prepared file {out}: {h5_reason(exc)}") from exc
    return open_prepared(out)


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


def _write_ids(
    vocab: Vocab, chunks: Iterable[str], sinks: dict[str, h5py.Dataset], n_train: int
) -> None:
    pos = 0
    for chunk in chunks:
        ids = vocab.encode(chunk).astype(vocab.dtype)
        end = pos + len(ids)
        if pos < n_train:
            cut = min(end, n_train) - pos
            sinks["train"][pos : pos + cut] = ids[:cut]
            ids, pos = ids[cut:], pos + cut
        if len(ids):
            sinks["val"][pos - n_train : pos - n_train + len(ids)] = ids
            pos += len(ids)
    if pos != n_train + len(sinks["val"]):
        raise CorpusError("corpus changed while it was being prepared")


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


def steps_per_epoch(n_ids: int, seq_len: int, batch_size: int) -> int:
    """Full batches per epoch; a corpus with fewer windows than a batch gives one short batch."""
    return max(1, count_windows(n_ids, seq_len) // batch_size)


def iter_batches(
    path: Path,
    split: str,
    seq_len: int,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    epoch: int = 0,
    skip: int = 0,
    drop_remainder: bool = True,
) -> Iterator[npt.NDArray[np.int32]]:
    """Batches of windows, shape (batch, seq_len + 1), deterministic in (seed, epoch).

    Shuffling picks a random phase for the window grid each epoch (so boundaries move), a random
    order of pools of POOL_CHARS ids, and a random order of windows inside each pool. `skip`
    drops that many batches without yielding them (resuming inside an epoch). Validation keeps
    the last short batch (`drop_remainder=False`) so every window is scored.
    """
    rng = np.random.default_rng([seed, epoch])
    n = split_size(path, split)
    phase = _phase(rng, n, seq_len, shuffle)
    n_windows = count_windows(n - phase, seq_len)
    if n_windows < batch_size:
        if skip == 0 and n_windows > 0:
            block = read_range(path, split, phase, phase + n_windows * seq_len + 1)
            yield _windows(block, seq_len, n_windows)
        return
    per_pool = max(batch_size, POOL_CHARS // seq_len)
    pools = list(range(0, n_windows, per_pool))
    if shuffle:
        rng.shuffle(pools)
    pending: list[npt.NDArray[np.int32]] = []
    held = 0
    for first in pools:
        count = min(per_pool, n_windows - first)
        start = phase + first * seq_len
        block = read_range(path, split, start, start + count * seq_len + 1)
        win = _windows(block, seq_len, count)
        if shuffle:
            win = win[rng.permutation(count)]
        pending.append(win)
        held += count
        while held >= batch_size:
            merged = np.concatenate(pending) if len(pending) > 1 else pending[0]
            usable = (len(merged) // batch_size) * batch_size
            for b in range(0, usable, batch_size):
                if skip > 0:
                    skip -= 1
                else:
                    yield merged[b : b + batch_size]
            pending = [merged[usable:]] if usable < len(merged) else []
            held = len(merged) - usable
    if pending and held and not drop_remainder and skip == 0:
        yield np.concatenate(pending)


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


def _phase(rng: np.random.Generator, n: int, seq_len: int, shuffle: bool) -> int:
    """Where the window grid starts this epoch; drawn first so counting can replay it."""
    return int(rng.integers(0, seq_len)) if shuffle and n - 1 >= 2 * seq_len else 0


def count_batches(
    n_ids: int,
    seq_len: int,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    epoch: int = 0,
    drop_remainder: bool = True,
) -> int:
    """Exactly how many batches `iter_batches` yields for these arguments (skip excluded)."""
    phase = _phase(np.random.default_rng([seed, epoch]), n_ids, seq_len, shuffle)
    n_windows = count_windows(n_ids - phase, seq_len)
    if n_windows < batch_size:
        return 1 if n_windows > 0 else 0
    full, rest = divmod(n_windows, batch_size)
    return full + (1 if rest and not drop_remainder else 0)


def _windows(block: npt.NDArray[np.int32], seq_len: int, count: int) -> npt.NDArray[np.int32]:
    view = np.lib.stride_tricks.sliding_window_view(block, seq_len + 1)[::seq_len][:count]
    return np.ascontiguousarray(view)


def make_dataset(
    path: Path,
    split: str,
    seq_len: int,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    epoch: int = 0,
    skip: int = 0,
    drop_remainder: bool = True,
) -> Any:
    """`iter_batches` as a prefetching tf.data.Dataset of (inputs, targets shifted by one)."""
    import tensorflow as tf

    def gen() -> Iterator[npt.NDArray[np.int32]]:
        yield from iter_batches(
            path,
            split,
            seq_len,
            batch_size,
            shuffle=shuffle,
            seed=seed,
            epoch=epoch,
            skip=skip,
            drop_remainder=drop_remainder,
        )

    spec = tf.TensorSpec(shape=(None, seq_len + 1), dtype=tf.int32)
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
    total = count_batches(
        split_size(path, split),
        seq_len,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        epoch=epoch,
        drop_remainder=drop_remainder,
    )
    # A known length lets Keras end the epoch without an "input ran out of data" warning.
    ds = ds.apply(tf.data.experimental.assert_cardinality(max(0, total - skip)))
    ds = ds.map(lambda w: (w[:, :-1], w[:, 1:])).prefetch(PREFETCH)
    # No autotuning: its model thread sleeps on a doubling back-off (10 ms, 20 ms, ... up to
    # a minute) and a dropped iterator waits for it, so every `fit` on a fresh dataset ended
    # with the CPU idle until the next back-off boundary (2.6 s after a 7.6 s epoch, 17 s after
    # a 24 s one; README, Performance). The pipeline is one generator and a slice, nothing to tune.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)
