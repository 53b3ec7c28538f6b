"""Where and how training runs: tf.distribute strategies and mixed-precision policies.

These are machine settings, not hyperparameters: the same config trains the same model on one
CPU, one GPU or several, so they arrive as flags and stay out of `Config`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chargen.errors import ConfigError

log = logging.getLogger(__name__)

DISTRIBUTE = ("mirrored", "multi-worker")
PRECISIONS = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


# XLA options for a training process. XLA's newer CPU code for loop fusions is several times
# slower on the LSTM backward pass's gate arithmetic (column slices of [B, 4U]); the older code
# makes the default model's training step a little faster but batched generation much slower
# (docs/performance.md), so only `chargen train` sets it. XLA reads XLA_FLAGS once per process
# and aborts on a flag it does not know: tests/test_runtime.py compiles them in a fresh process.
TRAINING_XLA_FLAGS = ("--xla_cpu_use_fusion_emitters=false",)

# XLA options for its GPU code, set in every process (XLA's CPU code ignores them). Command
# buffers (CUDA graphs) that also take in while loops and conditionals replay the sampler's
# compiled generation loop as graphs instead of launching each step's kernels one by one: on
# an H200, faster generation at every batch size measured (docs/gpu.md).
GPU_XLA_FLAGS = (
    "--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,CONDITIONAL,WHILE",
    "--xla_gpu_graph_min_graph_size=1",
)

# glibc mallopt() parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8


def tune_xla_for_training() -> None:
    """Add TRAINING_XLA_FLAGS to XLA_FLAGS, leaving any option the user set there as it is.

    Must run before this process compiles anything with XLA (importing TensorFlow is fine).
    """
    _add_xla_flags(TRAINING_XLA_FLAGS)


def tune_xla_for_gpu() -> None:
    """Add GPU_XLA_FLAGS to XLA_FLAGS, leaving any option the user set there as it is (give
    `--xla_gpu_enable_command_buffer=...` your own list of command types to override ours; an
    empty list turns command buffers off). Before any compile."""
    _add_xla_flags(GPU_XLA_FLAGS)


def _add_xla_flags(wanted: tuple[str, ...]) -> None:
    flags = os.environ.get("XLA_FLAGS", "").split()
    names = {flag.split("=")[0] for flag in flags}
    flags += [flag for flag in wanted if flag.split("=")[0] not in names]
    os.environ["XLA_FLAGS"] = " ".join(flags)


def tune_allocator() -> bool:
    """Keep freed memory in one glibc heap instead of returning it to the kernel.

    An XLA training step allocates its temporaries (tens of MB each) afresh; with glibc's
    defaults they come from mmap or from per-thread arenas that are trimmed after use, so every
    step page-faults them in again: 52,000 minor faults per step of the default model, a fifth
    of its time (README, Performance). One arena, no mmap and no trimming make the second step
    reuse the first one's pages; memory stays at the peak of one step. Call before TensorFlow
    starts its threads. False where the C library has no mallopt (not glibc) or
    CHARGEN_MALLOC_TUNING=0 asks for the C library's defaults.
    """
    if os.environ.get("CHARGEN_MALLOC_TUNING", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1))
    return all(mallopt(param, value) == 1 for param, value in settings)


# "auto" batch shards never give a shard fewer samples than this: on a 16-vCPU Xeon the
# default preset (batch 64) trained slower with 16 shards than with 8 (docs/performance.md).
MIN_SHARD_BATCH = 8


def physical_cores(sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Physical cores among the CPUs this process may use: hyperthreads of one core share its
    vector units, so a second shard there mostly waits. Counts CPUs where sysfs has no
    topology (not Linux, some containers)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not cpus:
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topology = sysfs / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return len(cores)


def resolve_shards(value: int | str, batch_size: int) -> int:
    """The batch shards `cpu_shards` asks for: a number as given, "auto" one per physical core
    with at least MIN_SHARD_BATCH samples each."""
    if value != "auto":
        return int(value)
    return max(1, min(physical_cores(), batch_size // MIN_SHARD_BATCH))


def make_strategy(name: str | None) -> Any:
    """None -> TF's default (one device); `mirrored` -> every local GPU (or CPU device);
    `multi-worker` -> MultiWorkerMirroredStrategy over the cluster described by TF_CONFIG."""
    import tensorflow as tf

    if name is None:
        return tf.distribute.get_strategy()
    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif name == "multi-worker":
        _check_tf_config(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _reduce_nested(strategy)
    else:
        known = ", ".join(DISTRIBUTE)
        raise ConfigError(f"unknown distribute strategy {name!r} (choose from {known})")
    log.info("distributing over %d replicas with %s", strategy.num_replicas_in_sync, name)
    return strategy


def _reduce_nested(strategy: Any) -> None:
    """Make MultiWorkerMirroredStrategy's `reduce` take what Keras' `fit` gives it.

    Keras 3 calls it in two ways that fail with this strategy, so every multi-worker `fit`
    failed before its first step: on the whole (inputs, targets) batch, a tuple, to learn
    shapes (the strategy reduces single values only; keras-team/keras#20585); and on each
    scalar in the step's logs with `axis=0` (tensorflow/tensorflow#72388). Here each value of
    a structure is reduced on its own, and a scalar across replicas only, which is what both
    calls mean.
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def one(reduce_op: Any, value: Any, axis: Any) -> Any:
        local = value
        if isinstance(value, tf.distribute.DistributedValues):
            local = strategy.experimental_local_results(value)[0]
        rank = getattr(getattr(local, "shape", None), "rank", None)
        return reduce(reduce_op, value, None if rank == 0 else axis)

    def nested(reduce_op: Any, value: Any, axis: Any = None) -> Any:
        return tf.nest.map_structure(lambda v: one(reduce_op, v, axis), value)

    strategy.reduce = nested


def check_distribute(name: str | None) -> None:
    """What can be checked before a run directory is created: a multi-worker TF_CONFIG."""
    if name == "multi-worker":
        _check_tf_config(os.environ.get("TF_CONFIG"))


def _check_tf_config(raw: str | None) -> None:
    """A readable error instead of TensorFlow's when TF_CONFIG is missing or malformed."""
    if not raw:
        raise ConfigError("--distribute multi-worker needs TF_CONFIG (see README, Multi-worker)")
    try:
        data = json.loads(raw)
        cluster, kind, index = data["cluster"], data["task"]["type"], data["task"]["index"]
        workers = cluster["worker"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"TF_CONFIG is not valid: {exc}") from exc
    if not isinstance(workers, list) or not all(isinstance(w, str) for w in workers):
        raise ConfigError('TF_CONFIG cluster.worker must be a list of "host:port" strings')
    if kind not in ("worker", "chief") or not isinstance(cluster.get(kind), list):
        raise ConfigError(f"TF_CONFIG task type {kind!r} is not a worker or chief of cluster")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ConfigError(f"TF_CONFIG task index must be an integer, got {index!r}")
    if not 0 <= index < len(cluster[kind]):
        raise ConfigError(f"TF_CONFIG task index is outside cluster.{kind}")


def shard(dataset: Any) -> Any:
    """Shard by element: the generator-backed dataset has no files to split between workers."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


@contextlib.contextmanager
def precision(name: str | None) -> Iterator[None]:
    """Float16/bfloat16 compute with float32 variables while building and training a model.

    Keras keeps the weights in float32 and wraps the optimizer in a LossScaleOptimizer for
    float16 at compile time; the logits layer is float32 (see model.build_model).
    """
    import keras

    if name is None:
        yield
        return
    if name not in PRECISIONS:
        known = ", ".join(PRECISIONS)
        raise ConfigError(f"unknown mixed precision {name!r} (choose from {known})")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(PRECISIONS[name])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def import_tensorflow(*, training: bool = False) -> None:
    """Import TensorFlow with its pre-logging-init lines ("Could not find cuda drivers...")
    sent to /dev/null: they bypass TF_CPP_MIN_LOG_LEVEL and would clutter every command.
    A failing import still raises normally after stderr is restored. The allocator is tuned
    first, while this is the only thread (runtime.tune_allocator), XLA's GPU options are set
    (runtime.tune_xla_for_gpu), and `training` also sets XLA's options for training
    (runtime.tune_xla_for_training)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # an explicit value wins
    tune_allocator()
    tune_xla_for_gpu()
    if training:
        tune_xla_for_training()
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def gpu_available() -> bool:
    """Whether TensorFlow sees a GPU (then cuDNN, not the fused CPU loop, is the fast path)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def jit_mode(wanted: bool) -> bool | str:
    """XLA when asked for on a CPU; on a GPU Keras decides, since cuDNN kernels cannot be
    compiled by XLA."""
    return "auto" if gpu_available() else wanted
