"""Distributed and mixed-precision training: strategies, TF_CONFIG checks, mirrored == single."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chargen.errors import ConfigError
from chargen.runtime import make_strategy, precision
from tests.conftest import shipped

ROOT = Path(__file__).resolve().parents[1]

# Runs in a child: logical devices must be configured before TensorFlow initialises them.
MIRRORED_SCRIPT = """
import json, sys
from pathlib import Path
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from chargen.config import Config
from chargen.text.clean import CleanOptions
from chargen.data.prepare import prepare_corpus
from chargen.runs.rundir import create_run_dir
from chargen.train.run import train
base = Path(sys.argv[1])
prepared = prepare_corpus(sys.argv[2], CleanOptions(), val_fraction=0.1,
                          data_dir=base / "data").prepared
config = Config(layers=1, units=16, embedding_dim=8, seq_len=16, batch_size=16, epochs=4,
                learning_rate=0.01, steps_per_epoch=10, rng_seed=0)
out = {"devices": len(tf.config.list_logical_devices("CPU"))}
for name in (None, "mirrored"):
    run = create_run_dir(base / "runs", base / f"run-{name}", "t")
    result = train(config, prepared, run, distribute=name)
    out[str(name)] = [s.train_loss for s in result.history]
# stopped inside epoch 2 and resumed, both mirrored: the optimizer is rebuilt in the scope
run = create_run_dir(base / "runs", base / "run-resumed", "t")
from dataclasses import replace
train(replace(config, max_steps=15), prepared, run, distribute="mirrored")
result = train(config, prepared, run, distribute="mirrored", resume=True)
# the budget's partial row measures where it stopped; the whole epochs are the curve
out["resumed"] = [s.train_loss for s in result.history if not s.partial]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_follows_single_device(tmp_path: Path) -> None:
    wonderland = shipped().wonderland
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path), str(wonderland)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    single, mirrored = out["None"], out["mirrored"]
    assert len(single) == len(mirrored) == 4
    # the same global batch averaged over two replicas: the same curve, up to float rounding
    assert single[-1] < single[0] and mirrored[-1] < mirrored[0]
    for a, b in zip(single, mirrored, strict=True):
        assert b == pytest.approx(a, rel=0.02)
    assert out["resumed"] == pytest.approx(mirrored, rel=1e-5)


def _free_ports(n: int) -> list[int]:
    import socket

    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.slow
def test_multi_worker_on_two_local_processes_follows_single_device(tmp_path: Path) -> None:
    """Two `chargen train --distribute multi-worker` processes on this machine (TF_CONFIG on
    localhost): both finish, agree with each other, and train like one device. Keras 3's `fit`
    failed with this strategy before its first step (runtime._reduce_nested)."""
    import csv

    wonderland = shipped().wonderland
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    data = tmp_path / "alice.h5"
    prep = [sys.executable, "-m", "chargen", "prepare", "--corpus", str(wonderland)]
    subprocess.run([*prep, "--out", str(data)], check=True, env=env, capture_output=True)
    args = ["train", "--data", str(data), "--config", "tiny", "--epochs", "2"]
    args += ["--steps-per-epoch", "5", "--rng-seed", "3", "-q"]
    cluster = [f"localhost:{port}" for port in _free_ports(2)]
    workers = []
    for index in (1, 0):
        tf_config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        run_dir = ["--run-dir", str(tmp_path / f"worker-{index}")]
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "chargen", *args, *run_dir, "--distribute", "multi-worker"],
                env={**env, "TF_CONFIG": json.dumps(tf_config)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        single = subprocess.run(
            [sys.executable, "-m", "chargen", *args, "--run-dir", str(tmp_path / "single")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert single.returncode == 0, single.stderr[-2000:]
        for worker in workers:
            _, err = worker.communicate(timeout=600)
            assert worker.returncode == 0, err[-2000:]
    finally:  # a worker left waiting for its peer would outlive the test
        for worker in workers:
            worker.kill()

    def losses(name: str) -> list[float]:
        rows = csv.DictReader((tmp_path / name / "metrics.csv").read_text().splitlines())
        return [float(r[k]) for r in rows for k in ("train_loss", "val_loss")]

    reference = losses("single")
    assert len(reference) == 4 and reference[-1] < reference[1]
    assert losses("worker-0") == losses("worker-1")
    assert losses("worker-0") == pytest.approx(reference, rel=1e-3)


def test_default_strategy_is_one_replica() -> None:
    assert make_strategy(None).num_replicas_in_sync == 1


def test_unknown_strategy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="^unknown distribute strategy 'ring'"):
        make_strategy("ring")


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [
        (None, "--distribute multi-worker needs TF_CONFIG (see README, Multi-worker)"),
        (
            '{"cluster": {}, "task": {"type": "worker", "index": 0}}',
            "TF_CONFIG is not valid: 'worker'",
        ),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
            "TF_CONFIG task type 'chief' is not a worker or chief of cluster",
        ),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": "0"}}',
            "TF_CONFIG task index must be an integer, got '0'",
        ),
        (
            '{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}',
            'TF_CONFIG cluster.worker must be a list of "host:port" strings',
        ),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
            "TF_CONFIG task index is outside cluster.worker",
        ),
    ],
)
def test_multi_worker_checks_tf_config(
    monkeypatch: pytest.MonkeyPatch, tf_config: str | None, message: str
) -> None:
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ConfigError) as info:
        make_strategy("multi-worker")
    assert str(info.value) == message


def test_precision_sets_and_restores_the_policy() -> None:
    import keras

    from chargen.model.build import build_model

    with precision("bfloat16"):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        model = build_model(vocab_size=7, embedding_dim=4, units=8, layers=1)
    assert keras.mixed_precision.global_policy().name == "float32"
    lstm = model.get_layer("lstm_0")
    assert (lstm.compute_dtype, lstm.variable_dtype) == ("bfloat16", "float32")
    assert model.get_layer("logits").compute_dtype == "float32"
    assert model(np.zeros((1, 3), np.int32)).dtype.name == "float32"


def test_unknown_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="^unknown mixed precision 'int8'"):
        with precision("int8"):
            pass


# A 64 MB buffer freed: glibc's defaults hand its pages back to the kernel (so the next step faults
# them in anew); after tune_allocator the heap keeps them for reuse. Measured as resident memory,
# which does not depend on whether the kernel backs the buffer with huge pages.
REUSE_SCRIPT = """
import os
import numpy as np
from chargen.runtime import tune_allocator
def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
tuned = tune_allocator()
buffer = np.ones(16 << 20, dtype=np.float32)
held = resident_mb()
del buffer
print(tuned, round(held - resident_mb()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
@pytest.mark.parametrize("setting", ["1", "0"])
def test_tuned_allocator_keeps_freed_pages(setting: str) -> None:
    env = {**os.environ, "CHARGEN_MALLOC_TUNING": setting, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", REUSE_SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    released_mb = int(out[1])
    if setting == "1":
        assert out[0] == "True" and released_mb < 4
    else:  # the C library's defaults: the check above would fail without the tuning
        assert out[0] == "False" and released_mb > 60


def test_bad_tf_config_creates_no_run(runner, tmp_path: Path, tiny_corpus, monkeypatch) -> None:
    """Checked before the run directory exists: a failed start left a broken `runs/latest`."""
    from chargen.cli import main

    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}, "task": {"type": "chief", "index": 0}}')
    runs = tmp_path / "runs"
    args = ["train", "--corpus", str(tiny_corpus), "--config", "tiny", "--runs-dir", str(runs)]
    result = runner.invoke(main, [*args, "--distribute", "multi-worker"])
    assert (result.exit_code, result.stderr) == (2, "Error: TF_CONFIG is not valid: 'worker'\n")
    assert not runs.exists()


def test_training_xla_flags_added_once_and_user_settings_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chargen import runtime

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    runtime.tune_xla_for_training()
    runtime.tune_xla_for_training()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_use_fusion_emitters=false"
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x --xla_cpu_use_fusion_emitters=true")
    runtime.tune_xla_for_training()
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_use_fusion_emitters=true"


def test_gpu_xla_flags_added_once_and_user_settings_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargen import runtime

    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_fusion_emitters=false")
    runtime.tune_xla_for_gpu()
    runtime.tune_xla_for_gpu()
    assert os.environ["XLA_FLAGS"].split() == [
        "--xla_cpu_use_fusion_emitters=false",
        "--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,CONDITIONAL,WHILE",
        "--xla_gpu_graph_min_graph_size=1",
    ]
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_enable_command_buffer=FUSION")
    runtime.tune_xla_for_gpu()
    assert os.environ["XLA_FLAGS"].split() == [
        "--xla_gpu_enable_command_buffer=FUSION",
        "--xla_gpu_graph_min_graph_size=1",
    ]


def test_xla_flags_are_known_to_this_xla() -> None:
    """XLA aborts the process on a flag or a flag value it does not know (its CPU build parses
    the GPU flags too): a TensorFlow upgrade that drops one must fail here, not in a command."""
    code = (
        "from chargen import runtime; runtime.tune_xla_for_training(); runtime.tune_xla_for_gpu()\n"
        "import tensorflow as tf\n"
        "f = tf.function(lambda x: tf.tanh(x) * 2.0, jit_compile=True)\n"
        "print(float(f(tf.constant(0.5))))"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert abs(float(done.stdout.split()[-1]) - 2 * np.tanh(0.5)) < 1e-6


def test_train_command_imports_tensorflow_for_training(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from chargen.cli import main, train_cmd

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(train_cmd, "import_tensorflow", lambda **kw: calls.append(kw))
    result = CliRunner().invoke(main, ["train", "--corpus", str(tmp_path / "missing.txt")])
    assert result.exit_code != 0 and "Error:" in result.output
    assert calls == [{"training": True}]


def _fake_topology(root: Path, cores: dict[int, tuple[int, int]]) -> None:
    for cpu, (package, core) in cores.items():
        topology = root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text(f"{package}\n")
        (topology / "core_id").write_text(f"{core}\n")


def test_physical_cores_counts_hyperthread_siblings_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from chargen import runtime

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    # cpu 0/1 and 2/3 are sibling pairs; cpu 4 is core 0 of the second package
    _fake_topology(tmp_path, {0: (0, 0), 1: (0, 0), 2: (0, 1), 3: (0, 1), 4: (1, 0), 5: (1, 1)})
    assert runtime.physical_cores(tmp_path) == 3  # cpu 5 is not ours
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 7})
    assert runtime.physical_cores(tmp_path) == 3  # cpu 7 has no topology: count CPUs


def test_auto_shards_one_per_core_with_eight_samples_each(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargen import runtime

    monkeypatch.setattr(runtime, "physical_cores", lambda: 16)
    assert runtime.resolve_shards("auto", 64) == 8
    assert runtime.resolve_shards("auto", 256) == 16
    assert runtime.resolve_shards("auto", 12) == 1
    assert runtime.resolve_shards("auto", 4) == 1
    assert runtime.resolve_shards(3, 64) == 3
    monkeypatch.setattr(runtime, "physical_cores", lambda: 2)
    assert runtime.resolve_shards("auto", 64) == 2


def test_cpu_shards_flag_takes_a_number_or_auto(tiny_corpus: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from chargen.cli import main

    runner = CliRunner()
    base = ["train", "--corpus", str(tiny_corpus), "--config", "tiny", "--data-dir", str(tmp_path)]
    result = runner.invoke(main, [*base, "--cpu-shards", "many"])
    assert result.exit_code == 2
    assert "'many' is neither a whole number nor 'auto'" in result.stderr
    result = runner.invoke(main, [*base, "--cpu-shards", "0"])
    assert (result.exit_code, result.stderr) == (2, "Error: cpu_shards must be at least 1, got 0\n")
    run = tmp_path / "run"
    args = [
        *base,
        "--cpu-shards",
        "auto",
        "--jit-compile",
        "--max-steps",
        "2",
        "--run-dir",
        str(run),
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["cpu_shards"] == "auto"
