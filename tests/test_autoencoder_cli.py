"""`chargen autoencoder ...` end to end on the Hamlet excerpt with a 16-unit model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargen.cli import main
from tests.conftest import shipped

HAMLET = str(shipped().hamlet)
TINY = ["--units", "16", "--embedding-dim", "8", "--batch-size", "32"]


def _train(runner: CliRunner, run_dir: Path, *extra: str):
    return runner.invoke(
        main,
        ["autoencoder", "train", "--corpus", HAMLET, "--run-dir", str(run_dir), *TINY, *extra],
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained once through the CLI: 2 epochs, --json."""
    path = tmp_path_factory.mktemp("ae-cli") / "run"
    # NLTK reads NLTK_DATA once, when first imported: this may be the session's first import
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("NLTK_DATA", str(shipped().nltk_data))
    result = _train(CliRunner(), path, "--epochs", "2", "--json")
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    (path / "stdout.jsonl").write_text(result.stdout, encoding="utf-8")
    (path / "stderr.txt").write_text(result.stderr, encoding="utf-8")
    return path


def test_train_writes_an_autoencoder_run(run_dir: Path) -> None:
    events = [json.loads(line) for line in (run_dir / "stdout.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["epoch", "epoch", "summary"]
    assert [e["epoch"] for e in events[:2]] == [1, 2]
    assert events[2]["epochs_done"] == 2 and events[2]["stopped"] is None
    err = (run_dir / "stderr.txt").read_text()
    assert err.startswith("words: 614 tokens; 270 training and 30 held-out word types; 0 longer")
    assert "epoch 2/2  loss " in err
    meta = json.loads((run_dir / "run.json").read_text())
    assert (meta["kind"], meta["train_words"], meta["val_words"]) == ("autoencoder", 270, 30)
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert 0.0 <= float(rows[1]["val_word_acc"]) <= 1.0
    for name in ("best.weights.h5", "last.weights.h5", "checkpoint.h5", "vocab.json"):
        assert (run_dir / name).is_file()


def test_reconstruct_prints_the_text_and_json(run_dir: Path, runner: CliRunner) -> None:
    text = "To be, or not to be: that is the Question.\n"
    result = runner.invoke(main, ["autoencoder", "reconstruct", "--run", str(run_dir), text])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(",") == 1 and result.stdout.endswith(".\n")
    result = runner.invoke(
        main, ["autoencoder", "reconstruct", "--run", str(run_dir), "--json", "--beam", "3", text]
    )
    data = json.loads(result.stdout)
    assert [w["input"] for w in data["words"]][-2:] == ["the", "Question"]
    assert set(data["words"][0]) == {"input", "output", "log_prob"}


def test_reconstruct_reads_stdin(run_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["autoencoder", "reconstruct", "--run", str(run_dir), "-"], input="to be\n"
    )
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 2


def test_encode_prints_thought_vectors(run_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["autoencoder", "encode", "--run", str(run_dir), "to", "be"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["to", "be"]
    assert len(lines[0].split("\t")[1].split()) == 32
    result = runner.invoke(main, ["autoencoder", "encode", "--run", str(run_dir), "--json", "be"])
    assert len(json.loads(result.stdout)["thought"]) == 32


def test_evaluate_counts_the_held_out_words(run_dir: Path, runner: CliRunner) -> None:
    args = ["autoencoder", "evaluate", "--run", str(run_dir), "--json", "--noise", "0.3"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)["scores"]
    assert [(s["noise"], s["words"]) for s in scores] == [(0.0, 30), (0.3, 30)]
    assert scores[0]["chars"] > 30
    other = str(shipped().shakespeare)
    result = runner.invoke(
        main, ["autoencoder", "evaluate", "--run", str(run_dir), "--corpus", other, "--json"]
    )
    data = json.loads(result.stdout)
    assert data["scores"][0]["words"] > 1000 and data["seen_in_training"] > 100


def test_plot_writes_both_pictures(run_dir: Path, runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = runner.invoke(
        main,
        ["autoencoder", "plot", "--run", str(run_dir), "--out-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "embedding.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "thoughts.png").read_bytes()[:4] == b"\x89PNG"
    assert result.stdout.splitlines()[-1].startswith("mean cosine of pair offsets ")


def test_resume_continues_the_metrics(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "run"
    assert _train(runner, path, "--epochs", "1").exit_code == 0
    first = (path / "metrics.csv").read_text().splitlines()
    result = runner.invoke(
        main, ["autoencoder", "train", "--resume", str(path), "--epochs", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    again = (path / "metrics.csv").read_text().splitlines()
    assert again[:2] == first and len(again) == 3
    assert [json.loads(x)["event"] for x in result.stdout.splitlines()] == ["epoch", "summary"]


def test_resume_of_a_finished_run_has_nothing_to_do(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "run"
    assert _train(runner, path, "--epochs", "1").exit_code == 0
    rows = (path / "metrics.csv").read_text()
    again = runner.invoke(main, ["autoencoder", "train", "--resume", str(path), "--json"])
    assert again.exit_code == 0, again.output
    assert f"run {path} already finished 1 epoch; nothing to do" in again.stderr
    assert json.loads(again.stdout.splitlines()[-1])["trained"] == 0
    assert (path / "metrics.csv").read_text() == rows


def _one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [message]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--noise", "1.0"], "Error: noise must be in [0, 1), got 1.0"),
        (["--noise", "-0.1"], "Error: noise must be in [0, 1), got -0.1"),
        (["--max-word-len", "0"], "Error: max_word_len must be at least 1, got 0"),
    ],
)
def test_train_refuses_bad_values(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    _one_line_error(_train(runner, tmp_path / "run", *args), message)
    assert not (tmp_path / "run").exists()


def test_train_refuses_a_corpus_without_words(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("... !!! ---\n", encoding="utf-8")
    result = runner.invoke(
        main, ["autoencoder", "train", "--corpus", str(empty), "--run-dir", str(tmp_path / "r")]
    )
    _one_line_error(result, "Error: the corpus has no words after tokenizing (NLTK \\w+)")
    assert not (tmp_path / "r").exists()


def test_train_refuses_when_every_word_is_too_long(runner: CliRunner, tmp_path: Path) -> None:
    long = tmp_path / "long.txt"
    long.write_text("question nobler slings\n", encoding="utf-8")
    result = runner.invoke(
        main,
        ["autoencoder", "train", "--corpus", str(long), "--max-word-len", "3", "--run-dir", "x"],
    )
    _one_line_error(
        result, "Error: every word is longer than max_word_len (3); raise --max-word-len"
    )


def test_unknown_characters_are_named_or_skipped(run_dir: Path, runner: CliRunner) -> None:
    args = ["autoencoder", "reconstruct", "--run", str(run_dir)]
    result = runner.invoke(main, [*args, "caf\u00e9 au lait"])
    _one_line_error(
        result, "Error: characters not in the run's vocabulary: '\u00e9'; --unknown skip drops them"
    )
    result = runner.invoke(main, [*args, "--unknown", "skip", "caf\u00e9 au lait"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 3
    result = runner.invoke(main, ["autoencoder", "encode", "--run", str(run_dir), "na\u00efve"])
    assert result.exit_code == 2 and "'\u00ef'" in result.stderr


def test_reconstruct_refuses_text_without_words(run_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["autoencoder", "reconstruct", "--run", str(run_dir), "?!"])
    _one_line_error(result, "Error: the text has no words (NLTK \\w+) to reconstruct")


def test_language_model_commands_refuse_an_autoencoder_run(
    run_dir: Path, runner: CliRunner
) -> None:
    for args in (
        ["sample", "--run", str(run_dir), "--seed", "to"],
        ["info", "--run", str(run_dir)],
        ["evaluate", "--run", str(run_dir)],
        ["train", "--resume", str(run_dir)],
    ):
        result = runner.invoke(main, args)
        _one_line_error(
            result,
            f"Error: {run_dir} is an autoencoder run, not a language-model run; "
            "use it with chargen autoencoder",
        )


def test_autoencoder_commands_refuse_a_language_model_run(
    runner: CliRunner, tmp_path: Path
) -> None:
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "config.json").write_text("{}\n")
    (lm / "vocab.json").write_text("{}\n")
    (lm / "run.json").write_text(json.dumps({"kind": "language-model"}))
    for args in (["reconstruct", "--run", str(lm), "to be"], ["train", "--resume", str(lm)]):
        result = runner.invoke(main, ["autoencoder", *args])
        _one_line_error(
            result,
            f"Error: {lm} is a language-model run, not an autoencoder run; "
            "use it with chargen sample",
        )


def test_runs_lists_an_autoencoder_run(run_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["runs", "--runs-dir", str(run_dir.parent), "--json"])
    assert result.exit_code == 0, result.output
    assert run_dir.name in result.stdout


def test_max_time_inside_an_epoch_keeps_its_weights_and_resume_reruns_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "run"
    result = _train(runner, path, "--epochs", "1", "--max-time", "0.001", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["epochs_done"], summary["stopped"]) == (0, "max_time")
    assert (path / "checkpoint.h5").is_file()
    assert (path / "metrics.csv").read_text().splitlines()[1:] == []
    # the saved budget applies to each invocation: a resume gives itself a new one
    result = runner.invoke(
        main, ["autoencoder", "train", "--resume", str(path), "--max-time", "1h"]
    )
    assert result.exit_code == 0, result.output
    assert len((path / "metrics.csv").read_text().splitlines()) == 2


def test_resume_refuses_changed_hyperparameters(run_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["autoencoder", "train", "--resume", str(run_dir), "--units", "32"]
    )
    _one_line_error(
        result, "Error: --resume continues a run as it was; only --epochs and --max-time"
    )
