"""Resuming: a stopped and resumed run equals an uninterrupted one, row for row."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from chargen.errors import RunError, UsageProblem
from chargen.runs.rundir import RunDir
from chargen.train.run import train

TIMING = {"chars_per_s", "seconds"}  # the only columns that differ between identical runs


def _rows(run: RunDir) -> list[dict[str, str]]:
    with open(run.metrics, encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]


def _but_train_loss(row: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k != "train_loss"}


def _run(tmp_path: Path, name: str) -> RunDir:
    path = tmp_path / name
    path.mkdir()
    return RunDir(path)


@pytest.mark.parametrize("step", ["keras-step", "xla-shards", "lion-decay"])
def test_stop_and_resume_equals_uninterrupted(
    tmp_path, tiny_config, tiny_prepared, step: str
) -> None:
    """Also for the default preset's step (XLA, two concurrent shards and dropout, whose seed
    generators the checkpoint must carry) and for another optimizer's state."""
    config = replace(tiny_config, epochs=2, eval_every=4, checkpoint_every=3)
    if step == "xla-shards":
        config = replace(config, jit_compile=True, cpu_shards=2, dropout=0.2, layers=2)
    if step == "lion-decay":
        config = replace(config, optimizer="lion", weight_decay=0.1, learning_rate=0.001)
    whole = train(config, tiny_prepared, _run(tmp_path, "whole"))
    assert whole.stopped is None
    assert [s.step for s in whole.history] == [4, 8, 12, 15, 16, 20, 24, 28, 30]

    run = _run(tmp_path, "parts")
    first = train(replace(config, max_steps=7), tiny_prepared, run)
    assert first.stopped == "max_steps"
    # the budget ends inside the epoch: the weights it ends on are measured (a partial row)
    assert [(s.step, s.partial) for s in first.history] == [(4, 1), (7, 1)]
    second = train(replace(config, max_steps=20), tiny_prepared, run, resume=True)
    assert second.stopped == "max_steps"
    assert [s.step for s in second.history][-2:] == [16, 20]  # 20 was measured already
    rest = train(config, tiny_prepared, run, resume=True)
    assert rest.stopped is None
    # the budget row aside, row for row the uninterrupted run: it steered nothing
    parts, ref = [r for r in _rows(run) if r["step"] != "7"], _rows(whole.run)
    if step == "lion-decay":  # the epoch across the stop: its mean train loss rounds apart
        assert [_but_train_loss(r) for r in parts] == [_but_train_loss(r) for r in ref]
        parts, ref = ([float(r["train_loss"]) for r in rows] for rows in (parts, ref))
        ref = pytest.approx(ref, rel=1e-5)
    assert parts == ref
    assert [s.step for s in rest.history] == [4, 7, 8, 12, 15, 16, 20, 24, 28, 30]
    assert [s.partial for s in rest.history if s.step in (15, 30)] == [0, 0]
    assert rest.history[-1].val_loss == pytest.approx(whole.history[-1].val_loss, rel=1e-5)


def test_resume_of_a_finished_run_is_refused(tmp_path, tiny_config, tiny_prepared) -> None:
    run = _run(tmp_path, "done")
    train(tiny_config, tiny_prepared, run)
    with pytest.raises(RunError) as info:
        train(tiny_config, tiny_prepared, run, resume=True)
    assert (
        str(info.value) == f"run {run.path} already finished (1 epochs); raise --epochs to train on"
    )
    more = train(replace(tiny_config, epochs=2), tiny_prepared, run, resume=True)
    assert [s.epoch for s in more.history] == [1, 2]


def test_resume_keeps_the_runs_mixed_precision(tmp_path, tiny_config, tiny_prepared) -> None:
    """float16 wraps Adam in a loss scaler with its own variables: a resume must rebuild the
    model in the run's precision (run.json), not the float32 default."""
    config = replace(tiny_config, epochs=2)
    whole = train(config, tiny_prepared, _run(tmp_path, "whole"), mixed_precision="float16")
    run = _run(tmp_path, "parts")
    train(replace(config, max_steps=3), tiny_prepared, run, mixed_precision="float16")
    with pytest.raises(
        UsageProblem,
        match=r"^--mixed-precision cannot change when resuming \(the run has float16\)$",
    ):
        train(config, tiny_prepared, run, resume=True, mixed_precision="bfloat16")
    rest = train(config, tiny_prepared, run, resume=True)
    assert rest.stopped is None
    assert [r for r in _rows(run) if r["step"] != "3"] == _rows(whole.run)


def test_budget_rows_become_best_without_steering_training(
    tmp_path, tiny_config, tiny_prepared
) -> None:
    """A budget's row is a real measurement: best.weights.h5 holds it when it is the best
    row, and the `best` the CLI reports is that row."""
    import h5py

    run = _run(tmp_path, "b")
    config = replace(tiny_config, epochs=3, learning_rate=0.05)
    result = train(replace(config, max_steps=22), tiny_prepared, run)
    assert result.stopped == "max_steps"
    assert [(s.step, s.partial) for s in result.history] == [(15, 0), (22, 1)]
    assert result.best is result.history[-1]  # still learning: the last weights are best
    with h5py.File(run.best_weights) as best, h5py.File(run.last_weights) as last:
        names: list[str] = []
        best.visit(lambda n: names.append(n) if isinstance(best[n], h5py.Dataset) else None)
        assert names and all((best[n][()] == last[n][()]).all() for n in names)


def test_early_stopping_ends_with_a_checkpoint(tmp_path, tiny_config, tiny_prepared) -> None:
    config = replace(tiny_config, epochs=50, learning_rate=0.5, early_stopping=1, eval_every=2)
    result = train(config, tiny_prepared, _run(tmp_path, "early"))
    assert result.stopped == "early_stopping"
    vals = [s.val_loss for s in result.history]
    assert vals[-1] >= min(vals[:-1])
    assert result.run.checkpoint.is_file() and result.run.last_weights.is_file()


def test_cli_resume_refuses_model_changes(runner, tmp_path, tiny_config, tiny_prepared) -> None:
    from chargen.cli import main

    run = _run(tmp_path, "r")
    train(replace(tiny_config, max_steps=3), tiny_prepared, run)
    result = runner.invoke(main, ["train", "--resume", str(run.path), "--units", "99"])
    assert result.exit_code == 2
    assert result.stderr == "Error: --units cannot change when resuming (the run has 8)\n"
    result = runner.invoke(
        main, ["train", "--resume", str(run.path), "--ascii", "--keep-chars", "[a-z]"]
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: --ascii, --keep-chars: a resumed run keeps the cleaning options it was prepared "
        "with\n",
    )


def test_cli_resume_of_a_finished_run_succeeds_with_nothing_to_do(
    runner, tmp_path, tiny_config, tiny_prepared
) -> None:
    """A scheduler re-runs the same resume after a preemption: exit 0 whether or not the
    previous attempt finished, decided from the checkpoint alone (no model is built), and
    the run is left exactly as it was."""
    from chargen.cli import main

    run = _run(tmp_path, "f")
    train(tiny_config, tiny_prepared, run)
    before = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    result = runner.invoke(main, ["train", "--resume", str(run.path)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"run {run.path} already finished 1 epoch; nothing to do (raise --epochs to train on)"
    )
    assert lines[1].startswith("best val_bpc ") and lines[1].endswith(
        f"at epoch 1; weights in {run.path}"
    )
    assert {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()} == before
    again = runner.invoke(main, ["train", "--resume", str(run.path), "--json"])
    assert again.exit_code == 0
    events = [json.loads(line) for line in again.stdout.splitlines()]
    assert [e["event"] for e in events] == ["finished", "summary"]
    assert events[0]["reason"] == "epochs" and events[1]["epochs"] == 1
    more = runner.invoke(main, ["train", "--resume", str(run.path), "--epochs", "2", "-q"])
    assert more.exit_code == 0, more.stderr


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "chargen", *args]


@pytest.mark.slow
def test_signals_and_kill_resume_like_an_uninterrupted_run(tmp_path, tiny_prepared) -> None:
    """SIGINT, SIGTERM and SIGKILL mid-run; each resumed run ends with the reference rows."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    common = ["--data", str(tiny_prepared.path), "--config", "tiny", "--seq-len", "16"]
    # 20 epochs: the signal must land mid-run however fast the machine (after the run ends it
    # would hit interpreter shutdown instead, which proves nothing)
    common += ["--batch-size", "8", "--steps-per-epoch", "16", "--epochs", "20", "--rng-seed", "4"]
    common += ["--eval-every", "10", "--checkpoint-every", "3"]
    ref = tmp_path / "ref"
    subprocess.run(
        _cli("train", *common, "--run-dir", str(ref)), env=env, check=True, capture_output=True
    )
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)):
        path = tmp_path / sig.name
        proc = subprocess.Popen(
            _cli("train", *common, "--run-dir", str(path)),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not (path / "checkpoint.h5").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:  # a process left running would outlive the test and fail a later one
            proc.kill()
        assert proc.returncode == code, err
        if sig != signal.SIGKILL:
            assert f"Resume with: chargen train --resume {path}" in err
        done = subprocess.run(
            _cli("train", "--resume", str(path)), env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert not (path / ".lock").exists()
        assert not list(path.glob(".tmp-*"))  # a killed writer's temporary is cleared
        assert _rows(RunDir(path)) == _rows(RunDir(ref))


def test_a_stop_inside_an_epoch_saves_and_exits(tmp_path, tiny_prepared) -> None:
    """--max-steps inside an epoch, then the weights are saved while tf.data drops the epoch's
    iterator. That iterator used to close its HDF5 file on a tf.data thread while the main
    thread was inside h5py: each waited for the other forever (no CPU, SIGTERM ignored)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    path = tmp_path / "run"
    args = ["--data", str(tiny_prepared.path), "--config", "tiny", "--rng-seed", "5"]
    args += ["--epochs", "3", "--layers", "2", "--layer-norm", "--dropout", "0.2"]
    args += [
        "--seq-len",
        "16",
        "--batch-size",
        "8",
        "--max-steps",
        "20",
        "--run-dir",
        str(path),
        "-q",
    ]
    proc = subprocess.Popen(
        _cli("train", *args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped at --max-steps 20" in out
    assert sorted(p.name for p in path.iterdir() if p.name.startswith(".")) == []


def test_ctrl_c_outside_the_loops_handler_exits_130_and_the_run_resumes(
    runner, tmp_path, tiny_config, tiny_prepared, monkeypatch
) -> None:
    """Once the loop has removed its handler, Ctrl-C is a KeyboardInterrupt: one line, exit
    130, and a resume that finds the run finished."""
    from chargen.cli import main
    from chargen.cli.train_report import TrainReport

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    run_dir = tmp_path / "k"
    args = ["train", "--data", str(tiny_prepared.path), "--config", "tiny", "--units", "8"]
    args += ["--seq-len", "16", "--batch-size", "8", "--epochs", "1", "--run-dir", str(run_dir)]
    monkeypatch.setattr(TrainReport, "ending", interrupted)
    result = runner.invoke(main, args)
    assert result.exit_code == 130
    assert result.stderr == (
        f"Error: interrupted; the run is resumable: chargen train --resume {run_dir}\n"
    )
    monkeypatch.undo()
    again = runner.invoke(main, ["train", "--resume", str(run_dir)])
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith(f"run {run_dir} already finished 1 epoch; nothing to do")


def test_ctrl_c_during_the_last_checkpoint_write_is_saved_and_honoured(
    tmp_path, tiny_config, tiny_prepared, monkeypatch
) -> None:
    """The loop's handler is still installed: the write completes, the run says it was
    interrupted (exit 130 from the CLI), and the checkpoint it leaves is whole."""
    from chargen.train import loop

    original = loop.save_checkpoint

    def save_and_interrupt(path, model, position, **kw):  # type: ignore[no-untyped-def]
        if position["epoch"] == 1:  # the last write of a one-epoch run
            os.kill(os.getpid(), signal.SIGINT)
        return original(path, model, position, **kw)

    monkeypatch.setattr(loop, "save_checkpoint", save_and_interrupt)
    run = _run(tmp_path, "c")
    result = train(tiny_config, tiny_prepared, run)
    assert (result.stopped, result.signum) == ("signal", signal.SIGINT)
    assert [s.epoch for s in result.history] == [1]
    monkeypatch.undo()
    more = train(replace(tiny_config, epochs=2), tiny_prepared, run, resume=True)
    assert [s.epoch for s in more.history] == [1, 2]
