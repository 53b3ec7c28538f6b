"""`chargen info` and `chargen runs`: what a run holds, read without TensorFlow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from chargen import __version__
from chargen.cli import main
from chargen.runs.rundir import point_latest
from chargen.tools.info import count_parameters, list_runs, run_info


def test_parameter_count_matches_keras(trained_run) -> None:
    from chargen.model.build import build_model

    for sizes in ([32, 32], [16, 8, 4]):
        model = build_model(
            vocab_size=70, embedding_dim=8, units=sizes[0], layers=len(sizes), layer_units=sizes
        )
        counted = count_parameters(vocab_size=70, embedding_dim=8, layer_units=sizes)
        assert counted == model.count_params()


def test_info_reports_the_trained_run(trained_run, tmp_path: Path) -> None:
    details = run_info(trained_run.path, tmp_path)
    metrics = trained_run.metrics.read_text().splitlines()[1:]
    val_bpcs = [float(line.split(",")[3]) for line in metrics]
    assert details["epochs_done"] == 2
    assert details["best"]["val_bpc"] == min(val_bpcs)
    assert details["config"]["units"] == 32
    assert details["corpus"]["sources"][0].endswith("wonderland.txt")
    assert len(details["corpus"]["sha256"]) == 64
    assert details["vocabulary"]["size"] == len(details["vocabulary"]["chars"])
    assert details["parameters"] == count_parameters(
        vocab_size=details["vocabulary"]["size"], embedding_dim=8, layer_units=[32, 32]
    )


def test_info_cli_text_and_json(runner: CliRunner, trained_run) -> None:
    as_json = runner.invoke(main, ["info", "--run", str(trained_run.path), "--json"])
    assert as_json.exit_code == 0, as_json.stderr
    details = json.loads(as_json.stdout)
    text = runner.invoke(main, ["info", "--run", str(trained_run.path)])
    lines = text.stdout.splitlines()
    assert lines[0] == f"run         {trained_run.path}"
    best = details["best"]
    assert lines[-1] == (
        f"best        val {best['val_bpc']:.4f} bits/char ({best['val_loss']:.4f} nats) "
        f"at epoch {best['epoch']}"
    )
    assert f"{details['parameters']:,} parameters" in text.stdout
    via_env = runner.invoke(main, ["info", "--json"], env={"CHARGEN_RUN": str(trained_run.path)})
    assert json.loads(via_env.stdout) == details


def test_info_without_a_run_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["info", "--runs-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: no run found at {tmp_path / 'none' / 'latest'}; "
        "train one first or name its directory\n"
    )


def test_runs_lists_runs_and_marks_latest(runner: CliRunner, trained_run, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for name in ("a-first", "b-second"):
        shutil.copytree(trained_run.path, root / name)
    (root / "not-a-run").mkdir()
    point_latest(root, root / "b-second")
    found = list_runs(root)
    assert [(r["name"], r["latest"], r["epochs_done"]) for r in found] == [
        ("a-first", False, 2),
        ("b-second", True, 2),
    ]
    result = runner.invoke(main, ["runs", "--runs-dir", str(root)])
    lines = result.stdout.splitlines()
    bpc = f"{found[0]['best_val_bpc']:.4f}"
    assert lines[1].startswith("  a-first ") and bpc in lines[1]
    assert lines[2].startswith("* b-second ")
    records = runner.invoke(main, ["runs", "--json"], env={"CHARGEN_RUNS_DIR": str(root)})
    assert [json.loads(line)["name"] for line in records.stdout.splitlines()] == [
        "a-first",
        "b-second",
    ]
    empty = runner.invoke(main, ["runs", "--runs-dir", str(tmp_path / "empty")])
    assert (empty.exit_code, empty.stdout, empty.stderr) == (
        0,
        "",
        f"no runs in {tmp_path / 'empty'}\n",
    )


def test_every_command_has_help_with_examples(runner: CliRunner) -> None:
    names = sorted(main.commands)
    assert {"info", "runs", "sample", "train", "prepare"} <= set(names)
    for name in names:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0
        assert f"chargen {name} " in result.stdout, name
    version = runner.invoke(main, ["--version"])
    assert version.stdout == f"chargen, version {__version__}\n"


def test_epochs_done_counts_epochs_not_eval_rows(tmp_path: Path, tiny_config, tiny_prepared):
    """--eval-every adds metrics rows inside epochs; info and runs said "17 of 12 epochs"."""
    from dataclasses import replace

    from chargen.runs.rundir import create_run_dir
    from chargen.tools.info import run_info
    from chargen.train.run import train

    run = create_run_dir(tmp_path / "runs", tmp_path / "runs" / "r", "t")
    result = train(replace(tiny_config, epochs=2, eval_every=4), tiny_prepared, run)
    assert len(result.history) > 2
    assert run_info(run.path, tmp_path)["epochs_done"] == 2
    assert [r["epochs_done"] for r in list_runs(tmp_path / "runs")] == [2]
    stopped = create_run_dir(tmp_path / "runs", tmp_path / "runs" / "s", "t")
    train(replace(tiny_config, epochs=2, eval_every=4, max_steps=20), tiny_prepared, stopped)
    assert (
        run_info(stopped.path, tmp_path)["epochs_done"] == 1
    )  # 16 steps per epoch: inside the second
