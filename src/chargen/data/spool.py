"""The cleaned text's code units, written once while they are counted and read back to encode.

Why: the ids need the vocabulary, and the vocabulary needs the whole text counted. Cleaning
the corpus twice (decoding, newlines, NFC, the Gutenberg rules) cost more than writing its code
units to a temporary file beside the output and reading them back (docs/performance.md).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np

from chargen.data.vocab import CodeUnits, code_units

_HEADER = struct.Struct("<BQ")  # bytes per code unit, code units
_WIDE = {2: np.uint16, 4: np.uint32}
QUEUED = 2  # blocks waiting for the writer thread


def spool_units(chunks: Iterable[str], spool: BinaryIO) -> Iterator[CodeUnits]:
    """Each non-empty chunk's code units, as they are written to `spool`.

    The writes run on a thread of their own: the kernel copies each block into the page cache
    while the next one is cleaned. At most QUEUED blocks wait, so memory stays flat.
    """
    queued: deque[Future[None]] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="chargen-spool") as pool:
        for chunk in chunks:
            if not chunk:
                continue
            units = code_units(chunk)
            while len(queued) >= QUEUED:
                queued.popleft().result()
            queued.append(pool.submit(_write, spool, units))
            yield units
        while queued:
            queued.popleft().result()


def _write(spool: BinaryIO, units: CodeUnits) -> None:
    width = 1 if isinstance(units, bytes) else units.itemsize
    spool.write(_HEADER.pack(width, len(units)))
    spool.write(units if isinstance(units, bytes) else units.data)


def read_units(spool: BinaryIO) -> Iterator[CodeUnits]:
    """The code units `spool_units` wrote, from the start of `spool`, piece by piece."""
    spool.flush()
    spool.seek(0)
    while header := spool.read(_HEADER.size):
        width, n = _HEADER.unpack(header)
        data = spool.read(width * n)
        if len(data) != width * n:
            raise OSError("the spooled text is truncated")
        yield data if width == 1 else np.frombuffer(data, _WIDE[width])
