"""Benchmark parts that run in child processes: `prepare` speed and peak memory of training.

Each measurement is a fresh interpreter so its peak RSS (from os.wait4) is its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"


def synthetic_corpus(path: Path, megabytes: int, sources: Path = SHARED) -> int:
    """Concatenate the shared corpora until the file reaches `megabytes`; returns its size."""
    if path.is_file() and path.stat().st_size >= megabytes * 1_000_000:
        return path.stat().st_size
    texts = [p.read_bytes() for p in sorted(sources.glob("*.txt"))]
    if not texts:
        raise FileNotFoundError(f"no .txt corpora in {sources}")
    block = b"".join(texts)
    target = megabytes * 1_000_000
    with open(path, "wb") as fh:
        written = 0
        while written < target:
            fh.write(block)
            written += len(block)
    return written


def run_measured(args: list[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child to completion; wall seconds, peak RSS in MB and the tail of its output."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=child_env, cwd=ROOT
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    # ru_maxrss is in kilobytes on Linux
    return {
        "rc": proc.returncode,
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "tail": output.strip().splitlines()[-3:],
    }


def measure_prepare(corpus: Path, out: Path) -> dict[str, Any]:
    """`chargen prepare` on `corpus`: MB/s of raw input and the child's peak RSS."""
    out.unlink(missing_ok=True)
    res = run_measured(
        [sys.executable, "-m", "chargen", "prepare", "--corpus", str(corpus), "--out", str(out)]
    )
    size = corpus.stat().st_size
    res.update(corpus_mb=size / 1e6, mb_per_s=size / 1e6 / res["seconds"])
    return res


TRAIN_SNIPPET = """
import sys
from pathlib import Path
from chargen.dataset import make_dataset, open_prepared
from chargen.model import build_model, compile_model
p = open_prepared(Path(sys.argv[1])); steps = int(sys.argv[2])
m = build_model(vocab_size=len(p.vocab), embedding_dim=64, units=256, layers=2, dropout=0.1)
compile_model(m, learning_rate=2e-3, clip_norm=5.0)
m.fit(make_dataset(p.path, "train", 100, 64, shuffle=True).take(steps), verbose=0, shuffle=False)
print("trained", steps, "steps on", p.sizes["train"], "ids")
"""


def measure_train_memory(prepared: Path, steps: int) -> dict[str, Any]:
    """Peak RSS of training the default model on `prepared`, next to what a naive loader needs:
    every id as int32 plus the tutorial's float inputs and one-hot targets."""
    import h5py

    with h5py.File(prepared, "r") as h5:
        n = int(h5["train"].shape[0])
        vocab = len(__import__("json").loads(h5.attrs["vocab"])["chars"])
    res = run_measured([sys.executable, "-c", TRAIN_SNIPPET, str(prepared), str(steps)])
    res.update(
        train_ids=n,
        prepared_mb=prepared.stat().st_size / 1e6,
        naive_ids_mb=n * 4 / 1e6,
        naive_onehot_mb=n * (vocab + 4) / 1e6,
    )
    return res
