"""The windows training reads from a prepared file, as batches and as a tf.data pipeline.

Training never holds more than a few blocks of ids in memory and never builds one-hot arrays:
windows of `seq_len + 1` ids are cut from blocks read in order and shuffled within a bounded pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.data.prepared import count_windows, read_range, split_size

PREFETCH = 2  # batches read ahead of the training step
POOL_CHARS = 1 << 23  # ids shuffled together; bounds training memory whatever the corpus size


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
