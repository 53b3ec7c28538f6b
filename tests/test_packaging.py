"""The built wheel works outside the source tree: presets, --help, a tiny train and sample.

An editable install hides packaging mistakes (a preset left out of the wheel, a module that only
imports from src/), so this builds the sdist and, from it, the wheel, installs the wheel into a
fresh virtual environment and runs it from an unrelated directory. The fresh environment reuses
the dependencies already installed for the tests (a .pth file naming their site-packages), so
the test costs seconds, not a TensorFlow download.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY_TEXT

PRESETS = sorted(p.name for p in (ROOT / "configs").glob("*.toml"))


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-2000:]}"
    return proc


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_tree(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    dist = tmp_path / "dist"
    # --no-isolation: build with the setuptools of the dev extra, offline.
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        cwd=tmp_path,
        env=env,
    )
    (sdist,) = dist.glob("chargen-*.tar.gz")
    (wheel,) = dist.glob("chargen-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("chargen/presets/")) == (
        PRESETS
    )
    assert not [n for n in names if n.startswith("tests/")]
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    for preset in PRESETS:
        assert any(m.endswith(f"/src/chargen/presets/{preset}") for m in members), preset

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    py = venv / "bin" / "python"
    site = _run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=tmp_path,
        env=env,
    ).stdout.strip()
    # Only plain paths: .pth files inside the named folder are not run, so the editable
    # chargen of the development environment stays invisible to the fresh one.
    (Path(site) / "reuse-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path,
        env=env,
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    env |= {"CHARGEN_RUNS_DIR": str(work / "runs"), "CHARGEN_DATA_DIR": str(work / "data")}
    where = _run([str(py), "-c", "import chargen; print(chargen.__file__)"], cwd=work, env=env)
    assert where.stdout.strip().startswith(site), where.stdout
    chargen = str(venv / "bin" / "chargen")
    help_ = _run([chargen, "--help"], cwd=work, env=env)
    for command in ("prepare", "train", "sample"):
        assert f"  {command} " in help_.stdout

    corpus = work / "tiny.txt"
    corpus.write_text(TINY_TEXT * 20, encoding="utf-8")
    train = [chargen, "train", "--corpus", str(corpus), "--config", "tiny", "--epochs", "1"]
    _run(
        [*train, "--max-steps", "3", "--rng-seed", "1", "--run-dir", "run", "--json", "-q"],
        cwd=work,
        env=env,
    )
    config = json.loads((work / "run" / "config.json").read_text())
    assert config["units"] > 0 and config["seq_len"] > 0
    sample = [chargen, "sample", "--run", "run", "--seed", "Alice", "--length", "40"]
    out = _run([*sample, "--rng-seed", "3"], cwd=work, env=env).stdout
    text = out.removesuffix("\n")  # the 40 generated characters, then a newline
    assert len(text) == 40 and set(text) <= set(TINY_TEXT), out
