"""Atomic file writes: a crash mid-write leaves the previous version, never a torn file."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success fsync it and rename it into place.

    Same directory, so the rename is atomic on POSIX. The temporary name ends with the
    target's own name, so libraries that check the extension (Keras: `.weights.h5`) accept it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{TMP_PREFIX}{secrets.token_hex(4)}-{target.name}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def nearest_folder(target: Path) -> Path:
    """The folder `target` will be written in, or its nearest ancestor that exists yet."""
    where = target.parent.absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    return where


def check_space(target: Path, nbytes: int) -> None:
    """Raise ENOSPC before writing `nbytes` (plus some slack) beside `target` if they cannot fit.

    Why: HDF5 that runs out of space while it closes a file crashes the process (a
    segmentation fault, not an exception), so h5py writers check first.
    """
    need = int(nbytes * 1.02) + (1 << 20)
    try:
        free = shutil.disk_usage(nearest_folder(target)).free
    except OSError:
        return
    if free < need:
        sizes = f"needs about {need / 1e6:,.1f} MB, {free / 1e6:,.1f} MB free"
        raise OSError(errno.ENOSPC, f"No space left on device ({sizes})")


@contextlib.contextmanager
def syncing(path: Path, every: float = 0.2) -> Iterator[None]:
    """Write `path`'s dirty pages to disk in the background while the block runs.

    Why: a large file otherwise sits in the page cache until `atomic_path`'s fsync, which then
    waits for all of it; synced as it grows, the disk works while the CPU does (see
    docs/performance.md). Errors are left to that final fsync to report.
    """
    stop = threading.Event()
    fd = os.open(path, os.O_RDONLY)

    def flush() -> None:
        while not stop.wait(every):
            with contextlib.suppress(OSError):
                os.fdatasync(fd)

    worker = threading.Thread(target=flush, name="chargen-sync", daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete the temporary files of writers that were killed mid-write (kill -9, power loss).

    Call only while holding the directory's lock: no live writer can own one then.
    """
    for tmp in directory.glob(f"{TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
