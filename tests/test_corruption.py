"""Damaged files: every case is one `Error:` line and exit 2, never a model loaded wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest

from chargen.cli import main
from chargen.runs.rundir import RunDir
from tests.conftest import flip_id_bytes, xor_bytes


@pytest.fixture
def run_copy(trained_run, tmp_path: Path) -> RunDir:
    path = tmp_path / "run"
    shutil.copytree(trained_run.path, path)
    return RunDir(path)


def _one_error(result, expected: str) -> None:
    assert result.exit_code == 2, result.stderr
    assert result.stderr == f"Error: {expected}\n"


def _sample(runner, run: RunDir):
    return runner.invoke(
        main, ["sample", "--run", str(run.path), "--seed", "Alice", "--length", "5"]
    )


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_weight_bytes(path: Path) -> None:
    """Alter stored numbers in place, as bit rot would, leaving the HDF5 structure readable."""
    with h5py.File(path, "r") as h5:
        names: list[str] = []
        h5.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        offset = h5[sorted(names)[0]].id.get_offset()
    xor_bytes(path, offset, 8, 0xFF)


def test_truncated_weights(runner, run_copy) -> None:
    _truncate(run_copy.best_weights)
    expected = f"{run_copy.best_weights} is not a readable HDF5 file (truncated or damaged?)"
    _one_error(_sample(runner, run_copy), expected)


def test_altered_weights_fail_the_checksum(runner, run_copy) -> None:
    _flip_weight_bytes(run_copy.best_weights)
    _one_error(_sample(runner, run_copy), f"{run_copy.best_weights} is damaged: checksum mismatch")


def test_swapped_vocabulary_is_refused(runner, run_copy) -> None:
    vocab = json.loads(run_copy.vocab.read_text(encoding="utf-8"))
    chars = vocab["chars"]
    vocab["chars"] = sorted(chars[:-1] + ["\u2603"])  # same size, one character different
    run_copy.vocab.write_text(json.dumps(vocab), encoding="utf-8")
    expected = (
        f"{run_copy.best_weights} was trained with another vocabulary than this run's vocab.json"
    )
    _one_error(_sample(runner, run_copy), expected)


def test_truncated_checkpoint_refuses_resume(runner, run_copy) -> None:
    _truncate(run_copy.checkpoint)
    result = runner.invoke(main, ["train", "--resume", str(run_copy.path), "--epochs", "3"])
    expected = f"{run_copy.checkpoint} is not a readable HDF5 file (truncated or damaged?)"
    _one_error(result, expected)


def test_altered_checkpoint_refuses_resume(runner, run_copy) -> None:
    _flip_weight_bytes(run_copy.checkpoint)
    result = runner.invoke(main, ["train", "--resume", str(run_copy.path), "--epochs", "3"])
    _one_error(result, f"{run_copy.checkpoint} is damaged: checksum mismatch")


def test_checkpoint_from_another_format_version(runner, run_copy) -> None:
    with h5py.File(run_copy.checkpoint, "a") as h5:
        h5.attrs["version"] = 99
    result = runner.invoke(main, ["train", "--resume", str(run_copy.path), "--epochs", "3"])
    expected = (
        f"{run_copy.checkpoint} has checkpoint version 99 (chargen 0.1.0), "
        f"this chargen reads version 1"
    )
    _one_error(result, expected)


def test_run_from_an_incompatible_version(runner, run_copy) -> None:
    meta = json.loads(run_copy.meta.read_text(encoding="utf-8"))
    meta["chargen_version"] = "9.0.0"
    run_copy.meta.write_text(json.dumps(meta), encoding="utf-8")
    result = runner.invoke(main, ["train", "--resume", str(run_copy.path), "--epochs", "3"])
    _one_error(result, f"{run_copy.path} was written by an incompatible chargen version")


def test_truncated_prepared_file(runner, trained_run, tmp_path: Path) -> None:
    meta = json.loads(trained_run.meta.read_text(encoding="utf-8"))
    damaged = tmp_path / "damaged.h5"
    shutil.copy(meta["prepared"], damaged)
    _truncate(damaged)
    result = runner.invoke(main, ["train", "--data", str(damaged), "--config", "tiny"])
    _one_error(result, f"{damaged} is not a readable HDF5 file (truncated or damaged?)")


@pytest.mark.parametrize("split", ["train", "val"])
def test_flipped_ids_fail_their_checksum(runner, trained_run, tmp_path: Path, split: str) -> None:
    meta = json.loads(trained_run.meta.read_text(encoding="utf-8"))
    damaged = tmp_path / "damaged.h5"
    shutil.copy(meta["prepared"], damaged)
    flip_id_bytes(damaged, split)
    run_dir = tmp_path / "new-run"
    result = runner.invoke(
        main, ["train", "--data", str(damaged), "--config", "tiny", "--run-dir", str(run_dir)]
    )
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"Error: {damaged} is damaged: its {split} ids fail")
    assert result.stderr.endswith("; delete it and prepare the corpus again\n")
    assert result.stderr.count("\n") == 1
    assert not run_dir.exists()


def test_flipped_ids_stop_a_resume(runner, run_copy, tmp_path: Path) -> None:
    meta = json.loads(run_copy.meta.read_text(encoding="utf-8"))
    damaged = tmp_path / "damaged.h5"
    shutil.copy(meta["prepared"], damaged)
    flip_id_bytes(damaged, "train")
    args = ["train", "--resume", str(run_copy.path), "--data", str(damaged), "--epochs", "3"]
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"Error: {damaged} is damaged: its train ids fail")


def test_flipped_val_ids_stop_evaluate(runner, trained_run, tmp_path: Path) -> None:
    meta = json.loads(trained_run.meta.read_text(encoding="utf-8"))
    damaged = tmp_path / "damaged.h5"
    shutil.copy(meta["prepared"], damaged)
    flip_id_bytes(damaged, "val")
    result = runner.invoke(
        main, ["evaluate", "--run", str(trained_run.path), "--data", str(damaged)]
    )
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"Error: {damaged} is damaged: its val ids fail")


def test_damaged_config(runner, run_copy) -> None:
    run_copy.config.write_text('{"units": ', encoding="utf-8")
    result = _sample(runner, run_copy)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot read {run_copy.config}: ")
    assert result.stderr.count("\n") == 1
