from __future__ import annotations

from pathlib import Path

import pytest

from chargen.errors import RunError
from chargen.runs.rundir import create_run_dir, default_run_name, read_run_config, resolve_run


def test_default_name_is_timestamp_and_safe_stem() -> None:
    name = default_run_name("my corpus!.v2", now=0)
    assert name.endswith("-my-corpus-.v2")
    assert len(name.split("-")[0]) == 8


def test_new_run_points_latest_at_it(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = create_run_dir(runs, None, "alice")
    assert (runs / "latest").resolve() == first.path.resolve()
    named = create_run_dir(runs, runs / "named", "alice")
    assert (runs / "latest").resolve() == named.path.resolve()
    elsewhere = create_run_dir(runs, tmp_path / "elsewhere", "alice")
    assert elsewhere.path.is_dir()
    assert (runs / "latest").resolve() == named.path.resolve()  # outside runs/: latest unchanged


def test_non_empty_run_dir_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "config.json").write_text("{}")
    with pytest.raises(RunError, match="run directory .*run is not empty"):
        create_run_dir(tmp_path, target, "x")


def test_resolve_run_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no run found at .*latest; train one first"):
        resolve_run(None, tmp_path)
    with pytest.raises(RunError, match="run directory not found: .*nope"):
        resolve_run(tmp_path / "nope", tmp_path)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(
        RunError, match="half is not a chargen run directory \\(missing vocab.json\\)"
    ):
        resolve_run(tmp_path / "half", tmp_path)


def test_damaged_config_is_a_run_error(tmp_path: Path) -> None:
    run = create_run_dir(tmp_path, tmp_path / "r", "x")
    run.config.write_text("{not json")
    with pytest.raises(RunError, match="cannot read .*config.json"):
        read_run_config(run)
    run.config.write_text('{"layers": 1, "colour": "red"}')
    with pytest.raises(
        RunError, match="damaged or from another chargen version: unknown config key 'colour'"
    ):
        read_run_config(run)


def test_latest_resolves_to_the_run_it_names(tmp_path: Path) -> None:
    """Reports and resume hints name the run itself: `latest` moves with the next run."""
    runs = tmp_path / "runs"
    run = create_run_dir(runs, runs / "named", "alice")
    for name in ("config.json", "vocab.json"):
        (run.path / name).write_text("{}")
    for given in (None, Path("latest"), runs / "latest"):
        assert resolve_run(given, runs).path == runs / "named"
