"""Run-directory lock: one writer, stale locks from dead processes taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chargen.errors import RunError
from chargen.runs.lock import check_unlocked, lock_path, read_lock, run_lock


def _write_lock(run_dir: Path, pid: int, host: str | None = None) -> None:
    owner = {"pid": pid, "host": host or socket.gethostname(), "started": "then"}
    lock_path(run_dir).write_text(json.dumps(owner), encoding="utf-8")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_is_held_then_released(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        owner = read_lock(tmp_path)
        assert owner is not None
        assert (owner["pid"], owner["host"]) == (os.getpid(), socket.gethostname())
    assert not lock_path(tmp_path).exists()


def test_live_lock_is_refused(tmp_path: Path) -> None:
    parent = os.getppid()
    _write_lock(tmp_path, parent)
    expected = (
        f"run directory {tmp_path} is in use by training process {parent} on "
        f"{socket.gethostname()} (since then); wait for it or stop it"
    )
    with pytest.raises(RunError) as info:
        check_unlocked(tmp_path)
    assert str(info.value) == expected
    with pytest.raises(RunError), run_lock(tmp_path):
        pass
    assert read_lock(tmp_path)["pid"] == parent  # the other owner's lock is left alone


def test_lock_on_another_host_is_refused(tmp_path: Path) -> None:
    _write_lock(tmp_path, 1, host="elsewhere.example")
    with pytest.raises(RunError, match="in use by training process 1 on elsewhere.example"):
        check_unlocked(tmp_path)


def test_stale_lock_is_taken_over(tmp_path: Path) -> None:
    _write_lock(tmp_path, _dead_pid())
    check_unlocked(tmp_path)
    with run_lock(tmp_path):
        assert read_lock(tmp_path)["pid"] == os.getpid()
    assert not lock_path(tmp_path).exists()


def test_cli_refuses_train_and_resume_of_a_locked_run(runner, tmp_path: Path) -> None:
    from chargen.cli import main

    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "vocab.json"):
        (run / name).write_text("{}", encoding="utf-8")
    _write_lock(run, os.getppid())
    message = f"Error: run directory {run} is in use by training process {os.getppid()}"
    resumed = runner.invoke(main, ["train", "--resume", str(run)])
    assert resumed.exit_code == 2
    assert resumed.stderr.startswith(message)
    again = runner.invoke(main, ["train", "--data", "x.h5", "--run-dir", str(run)])
    assert again.exit_code == 2
    assert again.stderr.startswith(message)
