"""The whole pipeline through real subprocesses, as a user or a CI script runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shipped

WONDERLAND = shipped().wonderland


def chargen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "chargen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_prepare_train_sample_on_wonderland(tmp_path: Path) -> None:
    prep = chargen("prepare", "--corpus", str(WONDERLAND), "--out", "alice.h5", cwd=tmp_path)
    assert prep.returncode == 0, prep.stderr
    assert prep.stdout.splitlines()[-1].startswith("144,431 characters kept")

    train = chargen(
        "train", "--data", "alice.h5", "--config", "tiny", "--rng-seed", "1",
        "--run-dir", "runs/alice", cwd=tmp_path,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert train.stderr == ""
    run = tmp_path / "runs" / "alice"
    rows = list(csv.DictReader((run / "metrics.csv").read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    val = [float(r["val_loss"]) for r in rows]
    assert val[0] > val[1] > val[2]
    for r in rows:
        assert abs(float(r["val_bpc"]) - float(r["val_loss"]) / 0.6931472) < 1e-3

    sample = chargen(
        "sample", "--run", "runs/alice", "--seed", "Alice was", "--temperature", "0.8",
        "--length", "200", "--rng-seed", "7", cwd=tmp_path,
    )  # fmt: skip
    assert sample.returncode == 0, sample.stderr
    assert sample.stderr == ""
    assert len(sample.stdout) == 201

    js = chargen("sample", "--seed", "the ", "--argmax", "--length", "30", "--json", cwd=tmp_path)
    record = json.loads(js.stdout)
    assert record["run"].endswith("latest") or record["run"].endswith("alice")
    assert len(record["text"]) == 30


@pytest.mark.slow
def test_autoencoder_train_interrupt_resume_reconstruct(tmp_path: Path) -> None:
    """Metrics rise over epochs; SIGINT exits 130 with the resume command; resume continues."""
    import signal
    import time

    args = [
        sys.executable, "-m", "chargen", "autoencoder", "train", "--corpus",
        "nltk:shakespeare-caesar.txt", "--units", "32", "--epochs", "60", "--run-dir", "ae",
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "ae" / "metrics.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (
        not metrics.is_file() or len(metrics.read_text().splitlines()) < 4
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert (
        err.splitlines()[-1]
        == "Error: interrupted; resume with: chargen autoencoder train --resume ae"
    )
    before = list(csv.DictReader(metrics.read_text().splitlines()))
    done = len(before)
    assert float(before[-1]["val_char_acc"]) > float(before[0]["val_char_acc"])
    resumed = chargen(
        "autoencoder", "train", "--resume", "ae", "--epochs", str(done + 1), cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    after = list(csv.DictReader(metrics.read_text().splitlines()))
    assert after[:done] == before and int(after[-1]["epoch"]) == done + 1
    rec = chargen("autoencoder", "reconstruct", "--run", "ae", "Friends, Romans!", cwd=tmp_path)
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout.count(",") == 1 and rec.stdout.endswith("!\n")
