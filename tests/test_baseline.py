"""The n-gram baseline: a proper distribution, the unigram as its floor, the CLI report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargen.cli import main
from chargen.errors import ConfigError
from chargen.tools.baseline import NGram, run_baseline


def test_probabilities_sum_to_one_for_any_context() -> None:
    ids = [0, 1, 2, 0, 1, 3, 0, 1, 2, 2, 1, 0]
    model = NGram(ids, 3, vocab_size=5)
    for context in ([], [0], [0, 1], [4, 4], [2, 1]):
        total = sum(model.prob(context, c) for c in range(5))
        assert math.isclose(total, 1.0, rel_tol=1e-12), context


def test_order_one_is_the_add_one_unigram() -> None:
    ids = [0, 0, 0, 1]
    model = NGram(ids, 1, vocab_size=3)
    assert model.prob([], 0) == (3 + 1) / (4 + 3)
    assert model.bits_per_char([2]) == -math.log2(1 / 7)


def test_order_is_checked() -> None:
    with pytest.raises(ConfigError, match="^order must be between 1 and 12, got 0$"):
        NGram([0], 0, vocab_size=1)


def _prepare(runner: CliRunner, corpus: Path, out: Path) -> None:
    result = runner.invoke(main, ["prepare", "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.stderr


def test_longer_context_beats_the_unigram(runner: CliRunner, tiny_corpus: Path, tmp_path: Path):
    from chargen.data.prepared import open_prepared

    out = tmp_path / "tiny.h5"
    _prepare(runner, tiny_corpus, out)
    vocab_size = len(open_prepared(out).vocab)
    result = run_baseline(out, 4, vocab_size)
    # the tiny corpus repeats one paragraph, so four characters of context predict it well
    assert result.val_bpc < 1.0 < result.unigram_bpc
    assert result.unigram_bpc == run_baseline(out, 1, vocab_size).val_bpc


def test_baseline_cli(runner: CliRunner, tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.h5"
    _prepare(runner, tiny_corpus, out)
    record = runner.invoke(main, ["baseline", "--data", str(out), "--order", "3", "--json"])
    assert record.exit_code == 0, record.stderr
    data = json.loads(record.stdout)
    assert (data["order"], data["data"]) == (3, str(out))
    text = runner.invoke(main, ["baseline", "--data", str(out), "--order", "3"])
    assert text.stdout.startswith(
        f"order 3 n-gram (Witten-Bell): val {data['val_bpc']:.4f} bits/char "
        f"(unigram {data['unigram_bpc']:.4f}); {data['train_chars']:,} train characters, "
    )
    bad = runner.invoke(main, ["baseline", "--data", str(out), "--order", "20"])
    assert (bad.exit_code, bad.stderr) == (2, "Error: order must be between 1 and 12, got 20\n")


def test_baseline_corpus_scores_what_prepare_would(
    runner: CliRunner, tiny_corpus: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    by_corpus = runner.invoke(
        main,
        ["baseline", "--corpus", str(tiny_corpus), "--order", "3", "--json",
         "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert by_corpus.exit_code == 0, by_corpus.stderr
    record = json.loads(by_corpus.stdout)  # stdout is the one JSON object
    assert "characters kept" in by_corpus.stderr
    cached = Path(record["data"])
    assert cached.parent == data_dir / "prepared"
    by_data = runner.invoke(main, ["baseline", "--data", str(cached), "--order", "3", "--json"])
    same = json.loads(by_data.stdout)
    assert {k: v for k, v in same.items() if k != "seconds"} == {
        k: v for k, v in record.items() if k != "seconds"
    }
    # the cleaning flags change what is prepared, and so the score
    lower = runner.invoke(
        main,
        ["baseline", "--corpus", str(tiny_corpus), "--order", "3", "--json", "--lowercase",
         "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert lower.exit_code == 0, lower.stderr
    assert json.loads(lower.stdout)["data"] != record["data"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--corpus", "X", "--data", "d.h5"], "give at most one of --corpus and --data"),
        (["--corpus", "X", "--run", "runs/r"], "give at most one of --corpus and --run"),
        (["--data", "d.h5", "--run", "runs/r"], "give at most one of --data and --run"),
        (["--data", "d.h5", "--lowercase"], "--lowercase: these options apply to --corpus only"),
        (
            ["--run", "r", "--ascii", "--val-fraction", "0.2"],
            "--val-fraction, --ascii: these options apply to --corpus only",
        ),
    ],
)
def test_baseline_names_its_data_once(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(main, ["baseline", *args])
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
