"""Benchmark parts that run in child processes: `prepare` speed and peak memory of training.

Each measurement is a fresh interpreter whose peak RSS (VmHWM) is polled from /proc while it
runs: rusage of a forked child on Linux starts from the parent's size and would overstate it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """CPU model and widest vector extension: figures from an AVX-512 host and an AVX2 host of
    the same model name differ (PyTorch's kernels use AVX-512, TensorFlow's wheels AVX2)."""
    info = {"model": "unknown", "vector_isa": "unknown"}
    try:
        text = cpuinfo.read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            info["model"] = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            info["vector_isa"] = next(
                (isa for isa in ("avx512f", "avx2", "avx", "sse4_2") if isa in flags), "other"
            )
            break
    return info


def run_measured(args: list[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child to completion; wall seconds, peak RSS in MB and the tail of its output."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=child_env, cwd=ROOT)
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        log.seek(0)
        output = log.read().decode(errors="replace")
    return {
        "rc": proc.returncode,
        "seconds": seconds,
        "peak_rss_mb": peak_kb / 1024,
        "tail": output.strip().splitlines()[-3:],
    }


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def measure_prepare(corpus: Path, out: Path) -> dict[str, Any]:
    """`chargen prepare` on `corpus`: MB/s of raw input and the child's peak RSS."""
    out.unlink(missing_ok=True)
    res = run_measured(
        [
            sys.executable,
            "-m",
            "chargen",
            "prepare",
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            "--no-strip",
        ]
    )
    size = corpus.stat().st_size
    res.update(corpus_mb=size / 1e6, mb_per_s=size / 1e6 / res["seconds"])
    return res


TRAIN_SNIPPET = """
import sys
from pathlib import Path
from chargen.runtime import import_tensorflow
import_tensorflow(training=True)  # as `chargen train` does: allocator and XLA tuned
from chargen.config import load_config
from chargen.data.prepared import open_prepared
from chargen.data.windows import make_dataset
from chargen.runtime import resolve_shards
from chargen.model.build import build_model, compile_model, model_kwargs
p = open_prepared(Path(sys.argv[1])); steps = int(sys.argv[2]); c = load_config("default")
m = build_model(**model_kwargs(c, len(p.vocab)))
compile_model(m, learning_rate=c.learning_rate, clip_norm=c.clip_norm, jit_compile=c.jit_compile,
              shards=resolve_shards(c.cpu_shards, c.batch_size))
ds = make_dataset(p.path, "train", c.seq_len, c.batch_size, shuffle=True).take(steps)
m.fit(ds, verbose=0, shuffle=False)
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
