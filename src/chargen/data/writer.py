"""Ids into a prepared file's splits, in whole HDF5 chunks, written on a thread of their own.

Why a thread: h5py lets other threads run while HDF5 checksums and writes a chunk, so the next
chunk's ids are looked up meanwhile (docs/performance.md). Two writes wait at most: memory
holds a few chunks, whatever the corpus size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from chargen.data.vocab import CodeUnits, Vocab
from chargen.errors import CorpusError

H5_CHUNK = 1 << 20  # ids per HDF5 chunk: large sequential reads, small random-access waste
QUEUED = 2  # chunk writes waiting for the writer thread

Submit = Callable[[h5py.Dataset, slice, npt.NDArray[Any]], None]


def write_ids(
    vocab: Vocab, pieces: Iterable[CodeUnits], sinks: dict[str, h5py.Dataset], n_train: int
) -> None:
    """Encode each piece of code units and write the first `n_train` ids to the train split,
    the rest to val."""
    queued: deque[Future[None]] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="chargen-h5") as pool:

        def submit(dataset: h5py.Dataset, where: slice, ids: npt.NDArray[Any]) -> None:
            while len(queued) >= QUEUED:
                queued.popleft().result()
            queued.append(pool.submit(dataset.__setitem__, where, ids))

        train, val = ChunkWriter(sinks["train"], submit), ChunkWriter(sinks["val"], submit)
        pos = 0
        for units in pieces:
            ids = vocab.encode_units(units)
            if pos < n_train:
                cut = min(pos + len(ids), n_train) - pos
                train.add(ids[:cut])
                ids, pos = ids[cut:], pos + cut
            if len(ids):
                val.add(ids)
                pos += len(ids)
        train.close()
        val.close()
        while queued:
            queued.popleft().result()
    if pos != n_train + len(sinks["val"]):
        raise CorpusError("corpus changed while it was being prepared")


class ChunkWriter:
    """Writes a split in whole HDF5 chunks, held in memory until complete.

    Why: HDF5 checksums a chunk each time it leaves its cache, and a chunk larger than the
    cache (uint16 ids) written in two parts is read back and checksummed twice.
    """

    def __init__(self, dataset: h5py.Dataset, submit: Submit) -> None:
        self.dataset = dataset
        self.submit = submit
        self.pos = 0
        self.parts: list[npt.NDArray[Any]] = []
        self.held = 0

    def add(self, ids: npt.NDArray[Any]) -> None:
        if self.pos + self.held + len(ids) > len(self.dataset):
            raise CorpusError("corpus changed while it was being prepared")
        self.parts.append(ids)
        self.held += len(ids)
        if self.held >= H5_CHUNK:
            self._write(self.held // H5_CHUNK * H5_CHUNK)

    def close(self) -> None:
        if self.held:
            self._write(self.held)

    def _write(self, n: int) -> None:
        ids = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        self.submit(self.dataset, slice(self.pos, self.pos + n), ids[:n])
        self.pos += n
        self.parts = [ids[n:]] if n < len(ids) else []
        self.held = len(ids) - n
