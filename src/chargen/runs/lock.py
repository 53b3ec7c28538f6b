"""A run-directory lock: one training process writes to a run at a time.

The lock is a file created with O_EXCL holding the owner's pid and host. A lock whose process is
gone (same host, pid not alive) is stale and taken over; a live one is refused with its owner.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chargen.errors import RunError

LOCK_NAME = ".lock"


def lock_path(run_dir: Path) -> Path:
    return run_dir / LOCK_NAME


def read_lock(run_dir: Path) -> dict[str, Any] | None:
    """The lock's owner, or None when the run is not locked (or the lock is unreadable)."""
    try:
        data = json.loads(lock_path(run_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_alive(owner: dict[str, Any]) -> bool:
    """True unless the owner is on this host and its pid no longer exists."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_unlocked(run_dir: Path) -> None:
    """Refuse a run that a live process is training."""
    owner = read_lock(run_dir)
    if owner is not None and is_alive(owner) and owner.get("pid") != os.getpid():
        since = f" (since {owner['started']})" if owner.get("started") else ""
        raise RunError(
            f"run directory {run_dir} is in use by training process {owner.get('pid')} on "
            f"{owner.get('host')}{since}; wait for it or stop it"
        )


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the lock while the block runs; a stale lock from a dead process is replaced."""
    path = lock_path(run_dir)
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            check_unlocked(run_dir)
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        except OSError as exc:
            raise RunError(f"cannot lock run directory {run_dir}: {exc.strerror}") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(owner) + "\n")
        break
    else:
        raise RunError(f"cannot lock run directory {run_dir}: another process took it")
    try:
        yield
    finally:
        if (read_lock(run_dir) or {}).get("pid") == os.getpid():
            path.unlink(missing_ok=True)
