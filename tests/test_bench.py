"""Smoke-sized checks of the benchmark's parts: shapes, keys and files, never timings."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
import bench_baselines as base  # noqa: E402
import bench_system as system  # noqa: E402
from bench_report import quality_table  # noqa: E402
from chargen import runtime  # noqa: E402
from tests.conftest import shipped  # noqa: E402


@pytest.fixture
def prepared(tiny_corpus: Path, tmp_path: Path):
    from chargen.data.prepare import prepare_corpus
    from chargen.text.clean import CleanOptions

    return prepare_corpus(
        str(tiny_corpus), CleanOptions(), val_fraction=0.1, data_dir=tmp_path / "d"
    ).prepared


def test_tutorial_batch_is_scaled_ids_and_one_hot_next_char() -> None:
    ids = np.arange(300, dtype=np.int32) % 7
    x, y = base.tutorial_batch(ids, 7, 5, np.random.default_rng(0))
    assert x.shape == (5, 100, 1) and y.shape == (5, 7)
    assert x.dtype == y.dtype == np.float32
    assert x.min() >= 0 and x.max() < 1
    np.testing.assert_array_equal(y.sum(axis=1), np.ones(5))
    # consecutive ids mod 7: the target follows the last input
    last = np.rint(x[:, -1, 0] * 7).astype(int)
    np.testing.assert_array_equal(y.argmax(axis=1), (last + 1) % 7)


def test_synthetic_corpus_repeats_sources_to_size(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "a.txt").write_bytes(b"abc\n" * 100_000)
    out = tmp_path / "big.txt"
    size = system.synthetic_corpus(out, 1, sources)
    assert size == out.stat().st_size >= 1_000_000
    assert out.read_bytes()[:8] == b"abc\nabc\n"


def test_run_measured_reports_the_childs_own_peak_memory() -> None:
    res = system.run_measured(
        [sys.executable, "-c", "import time; b = bytearray(300 << 20); time.sleep(0.5)"]
    )
    assert res["rc"] == 0
    assert 300 <= res["peak_rss_mb"] < 1000


def test_measure_prepare_writes_the_prepared_file(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be\n" * 2000, encoding="utf-8")
    res = system.measure_prepare(corpus, tmp_path / "c.h5")
    assert res["rc"] == 0, res["tail"]
    assert res["corpus_mb"] == pytest.approx(0.038)
    assert res["mb_per_s"] > 0 and res["peak_rss_mb"] > 0
    from chargen.data.prepared import open_prepared

    assert sum(open_prepared(tmp_path / "c.h5").sizes.values()) == 38_000


def test_bench_train_and_sample_report_ratios(prepared, tiny_config) -> None:
    train = bench.bench_train(prepared, tiny_config, steps=1, repeats=1)
    expected = {"chargen", "chargen_no_xla", "keras_plain", "tutorial"}
    assert expected <= set(train["chars_per_s"])
    assert set(train["ratios"]) >= {"train_vs_tutorial", "train_vs_keras_plain"}
    assert ("torch" in train["chars_per_s"]) == base.torch_available()
    sample = bench.bench_sample(prepared, tiny_config, length=64, naive_length=2)
    assert set(sample["chars_per_s"]) == {
        "naive_tutorial", "chargen_1", "chargen_64", "numpy_1", "numpy_64",
        "matmul_1thread_64", "matmul_pool_64", "matmul_split_64", "matmul_bound_64",
    }  # fmt: skip
    rates = sample["chars_per_s"]
    assert rates["matmul_bound_64"] == max(
        rates["matmul_1thread_64"], rates["matmul_pool_64"], rates["matmul_split_64"]
    )
    assert 0 < sample["ratios"]["numpy_64_vs_matmul_bound"]
    assert all(v > 0 for v in sample["chars_per_s"].values())
    tanh = bench.bench_tanh(tiny_config)
    assert tanh["tanh_per_step"] == 64 * 5 * tiny_config.layer_sizes[0]
    assert tanh["tanh_ns_per_element"] > 0
    threads = bench.bench_sample_threads(prepared, tiny_config, length=16, rounds=1)
    assert set(threads["chars_per_s"]) == {
        f"{load}_{name}_{n}" for load in ("idle", "busy_core")
        for name in ("threads", "1thread", "pool") for n in (1, 64)
    }  # fmt: skip
    assert all(v > 0 for v in threads["ratios"].values()) and len(threads["ratios"]) == 8
    assert threads["threads"] >= 1


@pytest.mark.slow
def test_bench_cli_sample_times_both_backends(prepared, tmp_path: Path) -> None:
    out = bench.bench_cli_sample(prepared, tmp_path, length=20, preset="tiny")
    for backend in ("numpy", "tensorflow"):
        assert 0 < out[backend]["first_char_s"] <= out[backend]["end_to_end_s"]
    # the numpy path imports no TensorFlow: whatever the machine, it starts sooner
    assert out["numpy"]["end_to_end_s"] < out["tensorflow"]["end_to_end_s"]


def test_format_table_marks_targets() -> None:
    results = {
        "train": {
            "chars_per_s": {"chargen": 9000.0},
            "ratios": {"train_vs_tutorial": 60.0, "train_vs_torch": 1.046},
        },
        "sample": {"ratios": {"sample_1_vs_naive": 10.0}},
    }
    table = bench.format_table(results).splitlines()
    assert "train.chars_per_s.chargen" in table[1] and "9,000.00" in table[1]
    assert table[-5].split() == ["train_vs_tutorial", "60.00", "50", "yes"]
    assert table[-4].split() == ["train_vs_torch", "1.05", "1", "yes"]
    assert table[-3].split() == ["sample_1_vs_naive", "10.00", "1,000", "NO"]
    assert table[-1] == "Why a target is missed: docs/performance.md, 'Where the targets stand'."
    results["sample"]["ratios"]["sample_1_vs_naive"] = 1500.0
    assert bench.format_table(results).splitlines()[-1].split()[-1] == "yes"


def test_main_writes_json_and_rejects_unknown_sections(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XLA_FLAGS", "")  # main sets training options; restored after the test
    with pytest.raises(SystemExit) as info:
        bench.main(["--sections", "warp"])
    assert info.value.code == 2
    assert "unknown sections: warp" in capsys.readouterr().err
    out = tmp_path / "b.json"
    assert (
        bench.main(
            ["--quick", "--sections", "gpu", "--out", str(out), "--work-dir", str(tmp_path / "w")]
            + ["--corpus", str(shipped().shakespeare)]
        )
        == 0
    )
    assert os.environ["XLA_FLAGS"] == " ".join(runtime.TRAINING_XLA_FLAGS)
    data = json.loads(out.read_text())
    assert data["gpu"] == {"skipped": "no GPU visible to TensorFlow"}
    assert data["machine"]["quick"] is True
    assert data["machine"]["vector_isa"] in {"avx512f", "avx2", "avx", "sse4_2", "other", "unknown"}


def test_cpu_info_reads_the_widest_vector_extension(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Test CPU 9000\nflags\t\t: fpu sse4_2 avx avx2 fma\n")
    assert system.cpu_info(cpuinfo) == {"model": "Test CPU 9000", "vector_isa": "avx2"}
    assert system.cpu_info(tmp_path / "absent")["vector_isa"] == "unknown"


def test_gpu_check_stops_cleanly_without_a_gpu() -> None:
    """The GPU script runs anywhere: without a GPU it says so and fails before any training."""
    import os
    import subprocess

    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible: scripts/gpu_check.sh runs its real checks here")
    env = {**os.environ, "PY": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "3"}
    before = sorted((ROOT / "runs").glob("gpu-check-*"))
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 1
    assert "GPUs: none" in result.stdout
    assert "== gpu preset" not in result.stdout
    assert sorted((ROOT / "runs").glob("gpu-check-*")) == before  # nothing kept, nothing to keep
    assert (
        result.stderr.strip().splitlines()[-1] == "no GPU visible to TensorFlow: nothing to check"
    )


def test_sample_child_gets_the_xla_options_the_bench_started_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training options must not reach the sample section: there they make 64 samples
    0.6x as fast, and `chargen sample` runs without them."""
    import subprocess

    seen: list[dict[str, str]] = []
    corpus = tmp_path / "c.txt"

    def fake_run(cmd: list[str], **kw: object) -> None:
        seen.append(kw["env"])  # type: ignore[arg-type]
        assert cmd[cmd.index("--corpus") + 1] == str(corpus)
        out = Path(cmd[cmd.index("--out") + 1])
        out.write_text(json.dumps({"sample": {"ok": 1}}))

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setenv("XLA_FLAGS", " ".join(runtime.TRAINING_XLA_FLAGS))
    (tmp_path / "s").mkdir()
    assert bench.sample_in_child(tmp_path / "s", True, None, corpus) == {"ok": 1}
    assert "XLA_FLAGS" not in seen[-1]
    assert bench.sample_in_child(tmp_path / "s", True, "--xla_dump_to=/x", corpus) == {"ok": 1}
    assert seen[-1]["XLA_FLAGS"] == "--xla_dump_to=/x"


@pytest.mark.slow
def test_bench_quality_scores_every_system(prepared, tiny_config, tmp_path: Path) -> None:
    out = bench.bench_quality(prepared, tiny_config, budget=2.0, work=tmp_path, every=1.0)
    expected = {"chargen", "tutorial", "transformer", "ngram_5", "ngram_7"}
    assert expected <= set(out["val_bpc"])
    assert all(0 < v < 10 for v in out["val_bpc"].values())
    assert out["transformer"]["steps"] > 0 and out["chargen"]["steps"] > 0
    for name, bits in out["val_bpc"].items():
        assert out["val_nats"][name] == pytest.approx(bits * 0.6931471805599453)
    curves = out["curves"]
    # one point per second of budget, the last one the figure the table quotes
    assert [t for t, _ in curves["tutorial"]] == pytest.approx([1.0, 2.0])
    assert [t for t, _ in curves["transformer"]] == pytest.approx([1.0, 2.0])
    for name in ("chargen", "tutorial", "transformer"):
        assert curves[name][-1][1] == out["val_bpc"][name]
        assert all(0 < b < 10 for _, b in curves[name])
    seconds = [t for t, _ in curves["chargen"]]
    assert seconds == sorted(seconds) and seconds[0] > 0
    table = "\n".join(quality_table(out))
    assert "val nats" in table and "transformer" in table and "@2" in table


def test_pytorch_quality_baseline_follows_chargens_budget_schedule(tiny_config) -> None:
    import bench_quality

    config = tiny_config.replace(learning_rate=0.01)
    # pieces of 10 s in a 100 s budget: the third starts 20 s in, the last ends at the budget
    third = bench_quality._budget_lr(config, 100.0, offset=20.0)
    last = bench_quality._budget_lr(config, 100.0, offset=90.0)
    assert third(0.0) == pytest.approx(0.01)  # anneal holds the rate for half the budget
    assert last(0.0) == pytest.approx(0.01 * 0.2)
    assert last(10.0) == pytest.approx(0.0)  # and ends at zero
    cosine = bench_quality._budget_lr(
        config.replace(lr_schedule="cosine", max_time=100.0), 100.0, offset=40.0
    )
    assert cosine(10.0) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))


def test_quality_budget_is_ten_minutes_on_a_cpu_and_five_on_a_gpu() -> None:
    assert bench.default_budget(False) == 600.0
    assert bench.default_budget(True) == 300.0


def test_tuning_variants_get_equal_characters_or_equal_time() -> None:
    import argparse

    import bench_tuning as tuning
    from chargen.config import load_config

    name, overrides = tuning.parse_variant("b32=batch_size=32,lr_schedule=cosine")
    assert (name, overrides) == ("b32", {"batch_size": 32, "lr_schedule": "cosine"})
    base = load_config("default")
    chars = argparse.Namespace(budget=None, chars=640_000)
    assert tuning.budgeted(base, overrides, chars).max_steps == 640_000 // (32 * 100)
    assert tuning.budgeted(base, {}, chars).max_steps == 640_000 // (64 * 100)
    timed = tuning.budgeted(base, overrides, argparse.Namespace(budget=60.0, chars=1))
    assert (timed.max_time, timed.max_steps, timed.batch_size) == (60.0, None, 32)


def test_tied_pytorch_model_reads_its_logits_off_the_embedding(prepared, tiny_config) -> None:
    pytest.importorskip("torch")
    import torch

    import bench_tuning as tuning

    vocab = len(prepared.vocab)
    tied = base.torch_config_model(vocab, tiny_config, tie=True).eval()
    x = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        h, _ = tied.lstm(tied.embedding(x))
        expected = tied.project(h) @ tied.embedding.weight.T + tied.bias
        assert torch.allclose(tied(x), expected)
        tied.embedding.weight[5] += 1.0  # not in x: only its output logit can move, and does
        assert not torch.allclose(tied(x)[..., 5], expected[..., 5])
        assert torch.allclose(tied(x)[..., :5], expected[..., :5])
    assert not hasattr(tied, "logits") and tied(x).shape == (1, 3, vocab)
    row = tuning.torch_variant(prepared, tiny_config, {"tie": True, "batch_size": 4}, 1.0)
    assert 0 < row["val_bpc"] < 10 and row["chars"] > 0 and row["train_chars_per_s"] > 0


def test_tuning_variants_set_a_schedule_constant_for_their_run_only() -> None:
    import bench_tuning as tuning
    from chargen.train import controls

    before = controls.ANNEAL_FRACTION
    with tuning.patched_controls({"controls.ANNEAL_FRACTION": 0.9}):
        assert controls.ANNEAL_FRACTION == 0.9
    assert controls.ANNEAL_FRACTION == before
