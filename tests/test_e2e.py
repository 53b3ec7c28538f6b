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
