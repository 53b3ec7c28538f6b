"""Training output: progress formatting and throttling, --quiet, --json, TensorBoard, samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tensorflow as tf
from click.testing import CliRunner

from chargen.cli import main
from chargen.train.report import BatchProgress, Throttle, Tracker, format_duration, format_progress


def _p(step: int, steps: int = 4) -> BatchProgress:
    return BatchProgress(
        epoch=2, epochs=3, step=step, steps=steps, loss=1.5, chars_per_s=41200.4, eta_s=185
    )


def test_format_progress_and_duration() -> None:
    assert format_progress(_p(2), width=10) == (
        "epoch 2/3 [#####.....] 2/4 loss 1.5000 41,200 chars/s ETA 3:05"
    )
    assert format_duration(3725) == "1:02:05"
    assert format_duration(-3) == "0:00"


def test_throttle_passes_one_per_interval_and_the_last_step() -> None:
    now = [0.0]
    shown: list[int] = []
    throttle = Throttle(lambda p: shown.append(p.step), 10.0, clock=lambda: now[0])
    for step in (1, 2, 3, 4):
        throttle(_p(step))
        now[0] += 4.0
    assert shown == [1, 4]  # t=0 shown, t=4 and t=8 held back, step 4 ends the epoch


def test_tracker_speed_and_eta() -> None:
    now = [100.0]
    seen: list[BatchProgress] = []
    tracker = Tracker(seen.append, epochs=3, steps=10, chars_per_step=500, clock=lambda: now[0])
    tracker.start_epoch()
    now[0] += 2.0
    tracker.batch_done(epoch=2, step=4, loss=2.0)
    p = seen[0]
    assert (p.step, p.chars_per_s) == (4, 1000.0)
    assert p.eta_s == (6 + 10) * 0.5  # rest of epoch 2 and all of epoch 3 at 0.5 s/step


def test_eta_is_the_nearest_of_epochs_max_steps_and_max_time() -> None:
    """A ten-minute budget on a corpus of long epochs shows ten minutes, not hours."""
    now = [0.0]
    seen: list[BatchProgress] = []

    def tracker(**budget: object) -> Tracker:
        t = Tracker(seen.append, epochs=50, steps=1000, chars_per_step=1, clock=lambda: now[0])
        for k, v in budget.items():
            setattr(t, k, v)
        return t

    by_steps = tracker(steps_left=30)
    by_steps.start_epoch(skip=100)  # a resumed epoch: its segment starts after step 100
    now[0] += 2.0
    for step in (101, 102, 103, 104):  # 4 steps in 2 s: 0.5 s per step
        by_steps.batch_done(epoch=1, step=step, loss=1.0)
    assert seen[-1].eta_s == (30 - 4) * 0.5
    by_time = tracker(time_left=lambda: 600.0)
    by_time.start_epoch()
    now[0] += 1.0
    by_time.batch_done(epoch=1, step=2, loss=1.0)
    assert seen[-1].eta_s == 600.0
    plain = tracker()
    plain.start_epoch()
    now[0] += 1.0
    plain.batch_done(epoch=50, step=998, loss=1.0)
    assert seen[-1].eta_s == pytest.approx(2 * 1.0 / 998)


def test_progress_line_eta_follows_max_steps(
    runner: CliRunner, tiny_corpus: Path, tmp_path: Path
) -> None:
    env = {"CHARGEN_PROGRESS_INTERVAL": "0"}
    args = ["--epochs", "50", "--max-steps", "5", "--json"]
    result = _train(runner, tiny_corpus, tmp_path / "run", *args, env=env)
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    progress = [e for e in events if e["event"] == "progress"]
    assert [(e["epoch"], e["step"]) for e in progress] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    for done, e in enumerate(progress, start=1):
        per_step = 8 * 16 / e["chars_per_s"]  # batch x seq_len characters a step
        assert e["eta_s"] == pytest.approx((5 - done) * per_step, rel=1e-6)


def _train(runner: CliRunner, corpus: Path, run_dir: Path, *extra: str, env=None):
    args = [
        "train", "--corpus", str(corpus), "--config", "tiny", "--epochs", "2",
        "--steps-per-epoch", "3", "--batch-size", "8", "--seq-len", "16",
        "--rng-seed", "0", "--run-dir", str(run_dir), *extra,
    ]  # fmt: skip
    return runner.invoke(main, args, env=env)


def test_quiet_prints_only_the_summary(runner: CliRunner, tiny_corpus: Path, tmp_path: Path):
    result = _train(runner, tiny_corpus, tmp_path / "run", "--quiet")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("best val_bpc ") and lines[0].endswith(f"{tmp_path / 'run'}")


def test_json_lines_for_scripts(runner: CliRunner, tiny_corpus: Path, tmp_path: Path) -> None:
    env = {"CHARGEN_PROGRESS_INTERVAL": "0"}
    result = _train(runner, tiny_corpus, tmp_path / "run", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    events = [r["event"] for r in records]
    assert events == ["start"] + (["progress"] * 3 + ["epoch"]) * 2 + ["summary"]
    steps = [r["step"] for r in records if r["event"] == "progress"]
    assert steps == [1, 2, 3, 1, 2, 3]
    epochs = [r for r in records if r["event"] == "epoch"]
    summary = records[-1]
    assert summary["best_val_loss"] == min(e["val_loss"] for e in epochs)
    assert summary["run"] == str(tmp_path / "run") and summary["epochs"] == 2
    assert "characters kept" in result.stderr  # prepare's report stays off stdout


def test_plain_progress_lines_when_piped(runner: CliRunner, tiny_corpus: Path, tmp_path: Path):
    env = {"CHARGEN_PROGRESS_INTERVAL": "0"}
    result = _train(runner, tiny_corpus, tmp_path / "run", env=env)
    assert result.exit_code == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if "] " in line]
    assert len(progress) == 6
    assert progress[0].startswith("epoch 1/2 [######") and " 1/3 loss " in progress[0]
    assert "\r" not in result.stdout and "\x1b" not in result.stdout


def test_tensorboard_and_periodic_samples(runner: CliRunner, tiny_corpus: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    result = _train(runner, tiny_corpus, run_dir, "--tensorboard", "--sample-every", "2", "-q")
    assert result.exit_code == 0, result.stderr
    events = list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    tags: dict[str, list[int]] = {}
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append(event.step)
    for scalar in ("train_loss", "val_loss", "val_bpc", "chars_per_s"):
        assert tags[scalar] == [1, 2]
    histograms = {t for t in tags if t not in ("train_loss", "val_loss", "val_bpc", "chars_per_s")}
    assert {"embedding/embeddings", "logits/kernel", "logits/bias"} <= histograms
    assert any(t.endswith("recurrent_kernel") for t in histograms)
    assert all(tags[t] == [1, 2] for t in histograms)
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert log.count("sample after epoch 2, temperature") == 3
    assert "sample after epoch 1," not in log
    for t in ("0.2", "0.5", "1"):
        assert f"sample after epoch 2, temperature {t}:\n" in log


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_mixed_precision_training_with_samples(
    runner: CliRunner, tiny_corpus: Path, tmp_path: Path, precision: str
) -> None:
    """The GPU options run on a CPU too (slowly): finite losses, float32 weights that load
    into a float32 sampler, and samples written during training."""
    import csv
    import math

    run_dir = tmp_path / "run"
    result = _train(
        runner, tiny_corpus, run_dir, "--mixed-precision", precision, "--sample-every", "2", "-q"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader((run_dir / "metrics.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(math.isfinite(float(r["val_loss"])) for r in rows)
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert log.count("sample after epoch 2, temperature") == 3
    sample = runner.invoke(
        main, ["sample", "--run", str(run_dir), "--seed", "Al", "--length", "30", "--argmax"]
    )
    assert sample.exit_code == 0, sample.stderr
    assert len(sample.stdout) == 31


def test_a_batch_larger_than_the_split_is_reported_as_it_runs(
    tmp_path: Path, tiny_config, tiny_prepared
) -> None:
    """One smaller batch of every window: the log and chars/s use its real size."""
    from dataclasses import replace

    from chargen.data.prepared import count_windows
    from chargen.runs.rundir import create_run_dir
    from chargen.train.run import train

    run = create_run_dir(tmp_path / "runs", tmp_path / "runs" / "big", "t")
    config = replace(tiny_config, batch_size=100_000, seq_len=16, epochs=1)
    train(config, tiny_prepared, run)
    windows = count_windows(tiny_prepared.sizes["train"], 16)
    log = (run.path / "train.log").read_text()
    assert f"1 steps per epoch of {windows} x 16 characters" in log
