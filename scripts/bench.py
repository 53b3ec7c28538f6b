"""`make bench`: chargen's speed against baselines measured in the same run on the same machine.

Writes one JSON file and prints a table. Absolute numbers move with the machine's load; the
ratios, measured minutes apart, are the figures to quote. `--quick` is a smoke-sized run.

    python scripts/bench.py                 # tens of minutes on a 2-core CPU
    python scripts/bench.py --quick         # about five minutes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chargen.runtime import import_tensorflow  # noqa: E402

# TensorFlow imported as `chargen train` imports it: the allocator tuned first, before any
# framework starts its threads (it holds for every model in this process, baselines included,
# so the ratios stay like for like), and the pre-logging lines kept off the terminal.
import_tensorflow()

import bench_baselines as base  # noqa: E402
import bench_system as system  # noqa: E402
from bench_quality import bench_quality, default_budget  # noqa: E402
from bench_report import SECTIONS, format_table  # noqa: E402
from chargen.runtime import resolve_shards, tune_xla_for_training  # noqa: E402

SHAKESPEARE = system.SHARED / "tinyshakespeare.txt"


def prepare_shakespeare(work: Path, corpus: Path = SHAKESPEARE) -> Any:
    from chargen.data.prepare import prepare_corpus
    from chargen.text.clean import CleanOptions

    result = prepare_corpus(
        str(corpus), CleanOptions(), val_fraction=0.1, data_dir=work, out=work / "ts.h5"
    )
    return result.prepared


def chargen_model(
    prepared: Any, config: Any, *, fused: bool = True, jit: bool | None = None
) -> Any:
    """The model `chargen train` builds; `jit` None takes the config's jit_compile."""
    from chargen.model.build import build_model, compile_model, model_kwargs
    from chargen.runtime import jit_mode

    model = build_model(**model_kwargs(config, len(prepared.vocab)), fused=fused)
    compile_model(
        model,
        learning_rate=config.learning_rate,
        clip_norm=config.clip_norm,
        jit_compile=jit_mode(config.jit_compile if jit is None else jit),
        shards=resolve_shards(config.cpu_shards, config.batch_size),
    )
    return model


def chargen_train(model: Any, prepared: Any, config: Any, steps: int, epoch: int = 0) -> float:
    """Predicted chars/s over `steps` batches read through chargen's HDF5 -> tf.data pipeline."""
    from chargen.data.windows import make_dataset

    ds = make_dataset(
        prepared.path, "train", config.seq_len, config.batch_size, shuffle=True, epoch=epoch
    ).take(steps)
    done = int(ds.cardinality())  # an epoch can hold fewer batches than asked for
    start = time.perf_counter()
    model.fit(ds, verbose=0, shuffle=False)
    return done * config.batch_size * config.seq_len / (time.perf_counter() - start)


def default_rate(prepared: Any, config: Any, steps: int) -> float:
    """chargen's training chars/s for `config` after a two-step warm-up (tracing, XLA)."""
    model = chargen_model(prepared, config)
    chargen_train(model, prepared, config, 2)
    return chargen_train(model, prepared, config, steps, epoch=1)


# The CPU leg of the GPU section runs in a child that sees no GPU: in this process a device
# scope would still leave Keras choosing cuDNN (and no XLA, no fused CPU loop) for the model.
CPU_CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import bench
bench.tune_xla_for_training()
from chargen.config import load_config
from chargen.data.prepared import open_prepared
prepared = open_prepared(Path(sys.argv[2]))
print(json.dumps(bench.default_rate(prepared, load_config("default"), int(sys.argv[3]))))
"""


def sample_in_child(work: Path, quick: bool, xla_flags: str | None, corpus: Path) -> Any:
    """The sample section in a process with the XLA options this one started with (see
    `main`): the environment as it is now would pass the training options on."""
    import subprocess

    out = work / "sample.json"
    cmd = [sys.executable, __file__, "--sections", "sample", "--out", str(out)]
    cmd += ["--work-dir", str(work), "--corpus", str(corpus)] + (["--quick"] if quick else [])
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return json.loads(out.read_text(encoding="utf-8"))["sample"]


def cpu_rate_without_gpu(prepared: Any, steps: int) -> float:
    import subprocess

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    here = str(Path(__file__).resolve().parent)
    cmd = [sys.executable, "-c", CPU_CHILD, here, str(prepared.path), str(steps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_train(prepared: Any, config: Any, steps: int, repeats: int) -> dict[str, Any]:
    """Best of `repeats` rounds; every variant runs once per round so load hits all alike."""
    import keras

    ids = base.split_ids(prepared, "train")
    vocab = len(prepared.vocab)
    keras.utils.set_random_seed(0)
    variants: dict[str, Any] = {
        "chargen": chargen_model(prepared, config),
        "chargen_no_xla": chargen_model(prepared, config, jit=False),
        "keras_plain": chargen_model(prepared, config, fused=False, jit=False),
        "tutorial": base.tutorial_model(vocab),
    }
    if base.torch_available():
        variants["torch"] = base.torch_config_model(vocab, config)
    best: dict[str, float] = {}
    for rnd in range(repeats + 1):  # round 0 warms up (tracing, XLA compilation)
        for name, model in variants.items():
            n = steps if rnd else 2
            if name == "tutorial":
                cps = base.tutorial_train(model, ids, vocab, steps=n, seconds=None, seed=rnd)
            elif name == "torch":
                cps = base.torch_config_train(model, ids, config, steps=n, seconds=None, seed=rnd)
            else:
                cps = chargen_train(model, prepared, config, n, epoch=rnd)
            if rnd:
                best[name] = max(best.get(name, 0.0), cps)
    out: dict[str, Any] = {"chars_per_s": best, "steps": steps, "repeats": repeats}
    out["ratios"] = {
        "train_vs_tutorial": best["chargen"] / best["tutorial"],
        "train_vs_keras_plain": best["chargen"] / best["keras_plain"],
        "fused_vs_keras_plain_no_xla": best["chargen_no_xla"] / best["keras_plain"],
        "xla_vs_no_xla": best["chargen"] / best["chargen_no_xla"],
    }
    if "torch" in best:
        out["ratios"]["train_vs_torch"] = best["chargen"] / best["torch"]
    else:
        out["note"] = "PyTorch not installed (pip install -e '.[bench]'): torch baseline skipped"
    return out


def bench_sample(
    prepared: Any, config: Any, length: int, naive_length: int, rounds: int = 5
) -> dict[str, Any]:
    """Naive re-feeding (tutorial) against the stateful samplers (compiled TensorFlow and
    numpy), one sample and a batch of 64, and the float32 matrix-product bound of a step.

    Every figure is the best of `rounds` timed runs, baseline included, and each round times
    all of them one after the other: a burst of load on a shared machine, which can halve one
    sub-second run, then hits every figure alike instead of deciding a ratio.
    """
    from chargen.generation.backend import sample_threads
    from chargen.generation.numpy_sampler import NumpySampler
    from chargen.generation.sampler import Sampler
    from chargen.generation.strategy import Strategy

    vocab = len(prepared.vocab)
    ids = base.split_ids(prepared, "val")
    tutorial = base.tutorial_model(vocab)
    base.tutorial_sample(tutorial, ids[:100], vocab, 2)  # warm-up
    model = chargen_model(prepared, config)
    sampler = Sampler(model, prepared.vocab)
    arrays = _numpy_arrays(model, config)
    numpy_sampler = NumpySampler(arrays, prepared.vocab, cell=config.cell, threads=sample_threads())
    seed_text = prepared.vocab.decode(ids[:100])
    runs = {
        "naive_tutorial": (
            naive_length,
            lambda: base.tutorial_sample(tutorial, ids[:100], vocab, naive_length),
        ),
    }
    for n in (1, 64):
        sampler.generate(seed_text, 64, Strategy(), num_samples=n)  # compile
        runs[f"chargen_{n}"] = (
            n * length,
            lambda n=n: sampler.generate(seed_text, length, Strategy(), num_samples=n),
        )
        # a quarter of the length: the same per-step cost, a quarter of the wait
        runs[f"numpy_{n}"] = (
            n * (length // 4),
            lambda n=n: numpy_sampler.generate(seed_text, length // 4, Strategy(), num_samples=n),
        )
    # the bound is the fastest of one BLAS thread, the library's default pool, and the
    # samples split over one thread per core as the numpy sampler steps them, so a way of
    # threading that only suits this machine cannot flatter the ratio
    runs["matmul_1thread_64"] = (64 * 200, lambda: _step_products(arrays, 64, 200, threads=1))
    runs["matmul_pool_64"] = (64 * 200, lambda: _step_products(arrays, 64, 200))
    runs["matmul_split_64"] = (64 * 200, lambda: _split_products(arrays, 64, 200))
    best = dict.fromkeys(runs, math.inf)
    for _ in range(rounds):
        for name, (_, run) in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    rates = {name: chars / best[name] for name, (chars, _) in runs.items()}
    rates["matmul_bound_64"] = max(
        rates["matmul_1thread_64"], rates["matmul_pool_64"], rates["matmul_split_64"]
    )
    return {
        "chars_per_s": rates,
        "length": length,
        "rounds": rounds,
        "ratios": {
            "sample_1_vs_naive": rates["chargen_1"] / rates["naive_tutorial"],
            "sample_64_vs_1": rates["chargen_64"] / rates["chargen_1"],
            "numpy_1_vs_naive": rates["numpy_1"] / rates["naive_tutorial"],
            "numpy_1_vs_tensorflow": rates["numpy_1"] / rates["chargen_1"],
            "numpy_64_vs_matmul_bound": rates["numpy_64"] / rates["matmul_bound_64"],
        },
    }


def bench_sample_threads(
    prepared: Any, config: Any, length: int, rounds: int = 3
) -> dict[str, Any]:
    """The numpy sampler's threads: one per physical core, each stepping its share of the
    samples with one BLAS thread (its default), against one thread with one BLAS thread and
    one thread on the BLAS library's own pool; 1 and 64 samples, on an idle machine and beside
    one process that keeps a core busy (parallel jobs, a shared CI runner): the measurement
    behind CHARGEN_SAMPLE_THREADS."""
    from chargen.generation.backend import sample_threads
    from chargen.generation.numpy_sampler import NumpySampler
    from chargen.generation.strategy import Strategy

    arrays = _numpy_arrays(chargen_model(prepared, config), config)
    sampler = NumpySampler(arrays, prepared.vocab, cell=config.cell)
    seed_text = prepared.vocab.decode(base.split_ids(prepared, "val")[:100])
    rates: dict[str, float] = {}
    threads_default = sample_threads()
    ways = ((threads_default, "threads"), (1, "1thread"), (None, "pool"))
    for load in ("idle", "busy_core"):
        spinner = (
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            if load == "busy_core"
            else None
        )
        try:
            for threads, name in ways:
                sampler.threads = threads
                for n in (1, 64):
                    steps = length if n == 1 else length // 8
                    best = math.inf
                    for _ in range(rounds):
                        start = time.perf_counter()
                        sampler.generate(seed_text, steps, Strategy(), num_samples=n)
                        best = min(best, time.perf_counter() - start)
                    rates[f"{load}_{name}_{n}"] = n * steps / best
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    return {
        "threads": threads_default,
        "chars_per_s": rates,
        "ratios": {
            f"{load}_threads_vs_{other}_{n}": rates[f"{load}_threads_{n}"]
            / rates[f"{load}_{other}_{n}"]
            for load in ("idle", "busy_core")
            for other in ("1thread", "pool")
            for n in (1, 64)
        },
    }


def bench_tanh(config: Any, batch: int = 64, rounds: int = 5) -> dict[str, Any]:
    """numpy's float32 tanh per element and what one sampling step of `config` at `batch`
    samples spends in it (all gates of a layer, then its cell): the part of a numpy step no
    product can hide, where a compiled loop fuses a cheaper approximation."""
    import numpy as np

    x = np.linspace(-4, 4, 1 << 16, dtype=np.float32)
    out = np.empty_like(x)
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(50):
            np.tanh(x, out=out)
        best = min(best, (time.perf_counter() - start) / 50)
    ns = best / x.size * 1e9
    # an LSTM: four gates and tanh of the cell; a GRU: two gates and the candidate
    per_unit = 5 if config.cell == "lstm" else 3
    per_step = batch * per_unit * sum(config.layer_sizes)
    return {
        "tanh_ns_per_element": ns,
        "tanh_per_step": per_step,
        "tanh_us_per_step": ns * per_step / 1000,
    }


def _numpy_arrays(model: Any, config: Any) -> dict[str, Any]:
    """The model's weights as the numpy sampler reads them: through a saved weights file."""
    from chargen.model.weights import read_arrays

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.weights.h5"
        model.save_weights(path)
        return read_arrays(
            path, cell=config.cell, layer_sizes=config.layer_sizes, layer_norm=config.layer_norm
        )


def _step_products(
    arrays: dict[str, Any], batch: int, steps: int, threads: int | None = None
) -> None:
    """Only the float32 matrix products of `steps` sampling steps at `batch` samples (each
    layer's input and recurrent kernels, the logits): the bound on any sampler's step.
    `threads` caps BLAS threads (None: the library's default pool)."""
    import contextlib

    from threadpoolctl import threadpool_limits

    limit = threadpool_limits(threads, user_api="blas") if threads else contextlib.nullcontext()
    with limit:
        _products(arrays, batch, steps)


def _split_products(arrays: dict[str, Any], batch: int, steps: int) -> None:
    """The products of _step_products with the batch split over one thread per physical
    core, each with one BLAS thread: how the numpy sampler's threads step their samples."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from chargen.generation.numpy_sampler import shares
    from chargen.runtime import physical_cores

    parts = max(1, min(physical_cores(), batch))
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(parts) as pool:
        list(pool.map(lambda rows: _products(arrays, len(rows), steps), shares(batch, parts)))


def _products(arrays: dict[str, Any], batch: int, steps: int) -> None:
    import numpy as np

    mats = [m for kernel, recurrent, _ in arrays["recurrent"] for m in (kernel, recurrent)][1:]
    mats.append(arrays["dense"][0])
    inputs = [np.ones((batch, m.shape[0]), np.float32) for m in mats]
    for _ in range(steps):
        for x, m in zip(inputs, mats, strict=True):
            x @ m


def bench_cli_sample(
    prepared: Any, work: Path, length: int = 200, preset: str = "default"
) -> dict[str, Any]:
    """`chargen sample --length N` as a user runs it, a fresh process per call, on a run of
    a preset (one training step: speed does not depend on the weights): seconds
    to the first character and end to end, per backend, best of three."""
    import subprocess

    run = work / "cli-run"
    cli = [sys.executable, "-m", "chargen"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    subprocess.run(
        [*cli, "train", "--data", str(prepared.path), "--config", preset, "--max-steps", "1",
         "--run-dir", str(run), "--quiet", "--runs-dir", str(work / "runs")],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    out: dict[str, Any] = {"length": length}
    seed = prepared.vocab.decode(base.split_ids(prepared, "val")[:20])
    for backend in ("numpy", "tensorflow"):
        cmd = [*cli, "sample", "--run", str(run), "--seed", seed, "--length", str(length),
               "--backend", backend, "--rng-seed", "1"]  # fmt: skip
        first, total = math.inf, math.inf
        for _ in range(3):
            start = time.perf_counter()
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env) as proc:
                assert proc.stdout is not None
                proc.stdout.read(1)
                first = min(first, time.perf_counter() - start)
                proc.stdout.read()
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
            total = min(total, time.perf_counter() - start)
        out[backend] = {"first_char_s": first, "end_to_end_s": total}
    return out


def bench_gpu(prepared: Any, steps: int) -> dict[str, Any]:
    """The default preset on the GPU and on the CPU of the same machine, and the gpu preset."""
    import tensorflow as tf

    from chargen.config import load_config

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return {"skipped": "no GPU visible to TensorFlow"}
    default, gpu = load_config("default"), load_config("gpu")
    rates = {
        "default_gpu": default_rate(prepared, default, steps),
        "default_cpu": cpu_rate_without_gpu(prepared, steps),
        "gpu_preset_gpu": default_rate(prepared, gpu, steps),
    }
    return {
        "devices": [g.name for g in gpus],
        "chars_per_s": rates,
        "ratios": {"gpu_vs_cpu": rates["default_gpu"] / rates["default_cpu"]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--budget", type=float, help="seconds of training per model (quality; 600, 300 on a GPU)"
    )
    parser.add_argument("--corpus-mb", type=int, help="synthetic corpus size for prepare")
    parser.add_argument(
        "--corpus", type=Path, default=SHAKESPEARE, help="text for train/sample/quality/gpu"
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument("--out", type=Path, default=Path("runs/bench.json"))
    parser.add_argument("--work-dir", type=Path, help="scratch space (default: a temp dir)")
    args = parser.parse_args(argv)
    quick = args.quick
    # None: the quality section's default for the machine (ten minutes, five on a GPU)
    budget = args.budget if args.budget is not None else (20.0 if quick else None)
    corpus_mb = args.corpus_mb or (64 if quick else 1024)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="chargen-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # Training is measured with the XLA options `chargen train` sets, sampling with XLA's
    # defaults as `chargen sample` runs; XLA reads them once per process, so with other
    # sections the sample section runs in a child process of its own.
    others = [s for s in sections if s != "sample"]
    if not others:
        results = run(
            sections, work, quick=quick, budget=budget, corpus_mb=corpus_mb, corpus=args.corpus
        )
    else:
        user_xla_flags = os.environ.get("XLA_FLAGS")
        tune_xla_for_training()
        results = run(
            others, work, quick=quick, budget=budget, corpus_mb=corpus_mb, corpus=args.corpus
        )
        if "sample" in sections:
            results["sample"] = sample_in_child(work / "sample", quick, user_xla_flags, args.corpus)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(format_table(results))
    print(f"\nJSON: {args.out}")
    return 0


def run(
    sections: list[str],
    work: Path,
    *,
    quick: bool,
    budget: float | None,
    corpus_mb: int,
    corpus: Path = SHAKESPEARE,
) -> dict[str, Any]:
    import tensorflow as tf

    from chargen.config import load_config

    config = load_config("default")
    prepared = prepare_shakespeare(work, corpus)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            **system.cpu_info(),
            "tensorflow": tf.__version__,
            "quick": quick,
        },
        "config": "default",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if "train" in sections:
        results["train"] = bench_train(prepared, config, 4 if quick else 20, 1 if quick else 2)
    if "sample" in sections:
        results["sample"] = bench_sample(
            prepared, config, 2048, 5 if quick else 20, 3 if quick else 5
        )
        results["sample"]["cli"] = bench_cli_sample(prepared, work)
        results["sample"]["tanh"] = bench_tanh(config)
        results["sample"]["threads"] = bench_sample_threads(
            prepared, config, 512 if quick else 2048
        )
    if "quality" in sections:
        gpu = bool(tf.config.list_physical_devices("GPU"))
        results["quality"] = bench_quality(
            prepared,
            load_config("gpu") if gpu else config,
            budget or default_budget(gpu),
            work,
            gpu=gpu,
        )
        results["quality"]["config"] = "gpu" if gpu else "default"
    big = work / "big.h5"
    if "prepare" in sections:
        synthetic = work / f"synthetic-{corpus_mb}mb.txt"
        system.synthetic_corpus(synthetic, corpus_mb)
        results["prepare"] = system.measure_prepare(synthetic, big)
    if "memory" in sections and big.is_file():
        results["memory"] = system.measure_train_memory(big, 5 if quick else 20)
    if "gpu" in sections:
        results["gpu"] = bench_gpu(prepared, 5 if quick else 50)
    return results


if __name__ == "__main__":
    sys.exit(main())
