from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargen.cli import main
from tests.conftest import shipped

WONDERLAND = shipped().wonderland


def test_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("prepare", "train", "sample"):
        assert command in result.stdout


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("chargen, version ")


def test_prepare_wonderland_summary(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "alice.h5"
    result = runner.invoke(main, ["prepare", "--corpus", str(WONDERLAND), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "removed 31 header lines and 366 footer lines" in lines[0]
    assert (
        lines[-1] == f"144,431 characters kept (129,988 train, 14,443 val), vocabulary 71 -> {out}"
    )
    assert out.is_file()


def test_prepare_gutenberg_id_from_mirror(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["prepare", "--corpus", "gutenberg:11", "--lowercase"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "data" / "gutenberg" / "pg11.txt").is_file()
    assert "vocabulary 45" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prepare", "--corpus", "missing.txt"], "Error: corpus not found: missing.txt"),
        (
            ["train", "--data", "x.h5", "--corpus", "y.txt"],
            "Error: give exactly one of --corpus and --data",
        ),
        (["train", "--data", "missing.h5"], "Error: prepared file not found: missing.h5"),
        (["train", "--corpus", "gutenberg:99999"], "Error: no ebook 99999 in mirror"),
        (["train", "--corpus", "c.txt", "--config", "huge"], "Error: unknown config preset 'huge'"),
        (["sample", "--seed", "a"], "Error: no run found at"),
        (["sample", "--seed", "a", "--run", "nope"], "Error: run directory not found: nope"),
    ],
)
def test_bad_input_is_one_error_line_exit_2(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_empty_corpus(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    result = runner.invoke(main, ["prepare", "--corpus", str(empty)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {empty} is empty\n"


def test_corpus_shorter_than_a_window(runner: CliRunner, tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("hello there, a short text\n" * 4)
    result = runner.invoke(main, ["train", "--corpus", str(short), "--config", "tiny"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: corpus too short for seq_len 64: the val split has 10 characters, needs at least 65"
    )
    assert not (tmp_path / "runs").exists()  # nothing written for a run that cannot train


def test_train_then_sample(runner: CliRunner, tiny_corpus: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "t"
    args = ["train", "--corpus", str(tiny_corpus), "--config", "tiny", "--epochs", "2"]
    args += ["--seq-len", "16", "--batch-size", "8", "--units", "16", "--run-dir", str(run_dir)]
    result = runner.invoke(main, [*args, "--rng-seed", "4"])
    assert result.exit_code == 0, result.stderr
    assert f"run directory: {run_dir}" in result.stdout
    rows = list(csv.DictReader((run_dir / "metrics.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "val_bpc",
        "chars_per_s",
        "seconds",
        "step",
        "learning_rate",
        "partial",
    }
    assert [r["partial"] for r in rows] == ["0", "0"]
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["units"], config["seq_len"], config["rng_seed"]) == (16, 16, 4)
    for name in ("vocab.json", "best.weights.h5", "last.weights.h5", "train.log", "run.json"):
        assert (run_dir / name).is_file(), name

    result = runner.invoke(main, ["sample", "--seed", "Alice", "--length", "50", "--argmax"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout) == 51 and result.stdout.endswith("\n")
    again = runner.invoke(main, ["sample", "--seed", "Alice", "--length", "50", "--argmax"])
    assert again.stdout == result.stdout

    seeded = [
        runner.invoke(main, ["sample", "--seed", "the", "--length", "80", "--rng-seed", "7"]).stdout
        for _ in range(2)
    ]
    assert seeded[0] == seeded[1]

    result = runner.invoke(
        main,
        [
            "sample",
            "--run",
            str(run_dir),
            "--seed",
            "Al",
            "--length",
            "20",
            "--num-samples",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["sample"] for r in records] == [0, 1, 2]
    assert all(len(r["text"]) == 20 and r["seed"] == "Al" for r in records)

    bad = runner.invoke(main, ["sample", "--seed", "Alice\u20ac", "--length", "5"])
    assert bad.exit_code == 2
    assert bad.stderr == "Error: seed has characters not in the vocabulary: '\u20ac'\n"
    for args, message in [
        (["--temperature", "-1"], "Error: temperature must be a finite number >= 0, got -1.0\n"),
        (["--temperature", "inf"], "Error: temperature must be a finite number >= 0, got inf\n"),
        (["--top-p", "1.5"], "Error: top_p must be in (0, 1], got 1.5\n"),
        (["--length", "0"], "Error: --length must be at least 1, got 0\n"),
    ]:
        bad = runner.invoke(main, ["sample", "--seed", "a", *args])
        assert (bad.exit_code, bad.stderr) == (2, message)


def test_data_flags_must_match_the_prepared_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "alice.h5"
    assert (
        runner.invoke(main, ["prepare", "--corpus", str(WONDERLAND), "--out", str(out)]).exit_code
        == 0
    )
    result = runner.invoke(main, ["train", "--data", str(out), "--lowercase", "--config", "tiny"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: --lowercase True contradicts {out} (lowercase = False); "
        "prepare the corpus again or use --corpus\n"
    )


def test_json_output_is_strict_json() -> None:
    """A diverged run's nan loss is null in --json output, which any JSON parser reads."""
    import json

    from chargen.cli.base import json_line

    line = json_line({"loss": float("nan"), "rows": [1.5, float("inf")], "name": "r"})
    assert line == '{"loss": null, "rows": [1.5, null], "name": "r"}'
    assert json.loads(line)["loss"] is None


def test_train_takes_several_corpora(runner: CliRunner, tmp_path: Path) -> None:
    """`--corpus` repeats on train as on prepare; it used to keep only the last one."""
    from chargen.data.prepared import open_prepared

    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("The first book, about a cat that sat on a mat.\n" * 40)
    two.write_text("The second book, about a dog that dug a log.\n" * 40)
    run = tmp_path / "run"
    args = ["train", "--corpus", str(one), "--corpus", str(two), "--config", "tiny"]
    args += ["--epochs", "1", "--steps-per-epoch", "2", "--seq-len", "16", "--batch-size", "4"]
    result = runner.invoke(main, [*args, "--run-dir", str(run), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.stderr
    meta = json.loads((run / "run.json").read_text())
    prepared = open_prepared(Path(meta["prepared"]))
    assert json.loads(prepared.attrs["sources"]) == [str(one), str(two)]
    total = len(one.read_text()) + len("\n\n") + len(two.read_text())
    assert prepared.sizes["train"] + prepared.sizes["val"] == total
