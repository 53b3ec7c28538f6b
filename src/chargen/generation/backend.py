"""Which sampler `chargen sample` runs and on how many threads: machine settings read
from the environment and the driver's device list, without importing TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

from chargen.errors import ConfigError

SAMPLE_BACKENDS = ("auto", "numpy", "tensorflow")
# CHARGEN_SAMPLE_THREADS: threads of the numpy sampler, each stepping a share of the samples
# with one BLAS thread (default: one per physical core; 0: one thread on the BLAS library's pool)


def sample_threads() -> int | None:
    """Threads for the numpy sampler, from CHARGEN_SAMPLE_THREADS (None: one, BLAS decides).

    One per physical core by default, each stepping its own samples with one BLAS thread: a
    sampling step is a few products too small to split, and a BLAS pool that spin-waits for a
    busy core (parallel jobs, a CI runner) makes a step several times slower, where threads
    with samples of their own keep their speed (docs/performance.md, The numpy sampler).
    """
    raw = os.environ.get("CHARGEN_SAMPLE_THREADS", "").strip()
    if not raw:
        from chargen.runtime import physical_cores

        return physical_cores()
    if not raw.isdigit():
        raise ConfigError(f"CHARGEN_SAMPLE_THREADS must be a whole number >= 0, got {raw!r}")
    return int(raw) or None


def sample_backend(choice: str) -> str:
    """`numpy` or `tensorflow` for `chargen sample`: `auto` is TensorFlow where an NVIDIA GPU
    is visible (its compiled loop runs there) and numpy on a CPU, where it matches
    TensorFlow's speed without seconds of import and compilation. Decided without importing
    TensorFlow, from the driver's device list and CUDA_VISIBLE_DEVICES."""
    if choice not in SAMPLE_BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(SAMPLE_BACKENDS)}, got {choice!r}")
    if choice != "auto":
        return choice
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return "numpy"
    gpus = Path("/proc/driver/nvidia/gpus")
    return "tensorflow" if gpus.is_dir() and any(gpus.iterdir()) else "numpy"
