"""Stream-ordered batches for stateful (char-rnn style) training.

The split is cut into `batch_size` contiguous streams; batch t holds window t of every stream,
so row b of batch t+1 continues row b of batch t exactly. A stateful LSTM can then carry its
state across batches and learn dependencies longer than `seq_len` at the same cost per step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chargen.data.prepared import read_ids
from chargen.errors import CorpusError


def stream_layout(n_ids: int, seq_len: int, batch_size: int) -> tuple[int, int]:
    """(characters per stream, batches per epoch) for `batch_size` streams over `n_ids` ids."""
    per_stream = (n_ids - 1) // batch_size
    return per_stream, per_stream // seq_len


def check_streams(n_ids: int, seq_len: int, batch_size: int) -> None:
    """Stateful training needs every one of `batch_size` streams to hold a whole window."""
    if stream_layout(n_ids, seq_len, batch_size)[1] < 1:
        raise CorpusError(
            f"the train split ({n_ids} characters) is too short for {batch_size} streams "
            f"of seq_len {seq_len}; lower --batch-size or --seq-len"
        )


def iter_stream_batches(
    path: Path, split: str, seq_len: int, batch_size: int, *, offset: int = 0
) -> Iterator[npt.NDArray[np.int32]]:
    """Batches (batch_size, seq_len + 1) where row b of each batch continues row b of the last.

    `offset` (< seq_len) shifts every stream's start, so window boundaries move between epochs
    without breaking continuity. The split is read whole: ids are one byte per character.
    """
    ids = read_ids(path, split)[offset:]  # no h5py object in this generator's frame (dataset._read)
    per_stream, batches = stream_layout(len(ids), seq_len, batch_size)
    if batches < 1:
        raise CorpusError(
            f"the {split} split ({len(ids)} characters) is too short for {batch_size} streams "
            f"of seq_len {seq_len}; lower --batch-size or --seq-len"
        )
    starts = np.arange(batch_size) * per_stream
    for t in range(batches):
        cols = starts[:, None] + t * seq_len + np.arange(seq_len + 1)[None, :]
        yield ids[cols]
