"""`chargen evaluate`: nats, bits and perplexity agree with training's validation figure."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from chargen.cli import main
from chargen.data.vocab import Vocab
from chargen.tools.evaluate import evaluate_run, text_ids


def _best_val_bpc(run) -> float:
    with open(run.metrics, encoding="utf-8") as fh:
        return min(float(r["val_bpc"]) for r in csv.DictReader(fh))


def test_val_split_matches_training_figure(trained_run) -> None:
    ev = evaluate_run(trained_run.path, trained_run.path.parent)
    assert ev.bits_per_char == pytest.approx(_best_val_bpc(trained_run), abs=0.02)
    assert ev.nats_per_char == pytest.approx(ev.bits_per_char * math.log(2))
    assert ev.perplexity == pytest.approx(math.exp(ev.nats_per_char))
    assert ev.oov_chars == 0
    assert ev.source.endswith("(val split)")
    assert ev.chars > 10_000


def test_text_ids_counts_characters_outside_the_vocabulary() -> None:
    vocab = Vocab(tuple(" abc"))
    ids, oov, which = text_ids("ab zc\u00e9a", vocab)
    assert vocab.decode(ids) == "ab ca"
    assert (oov, which) == (2, "z\u00e9")


def test_cli_json_on_other_text(runner, trained_run, tmp_path: Path) -> None:
    book = tmp_path / "other.txt"
    book.write_text("The Queen said \u00bboff with his head\u00ab, twice.\n" * 40, encoding="utf-8")
    result = runner.invoke(
        main, ["evaluate", "--run", str(trained_run.path), "--corpus", str(book), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["oov_chars"] == 80
    assert record["oov_set"] == "\u00ab\u00bb"
    assert record["chars"] == 40 * (43 - 2) - 1  # every kept character but the first
    assert record["bits_per_char"] == pytest.approx(record["nats_per_char"] / math.log(2))
    assert record["source"] == str(book)


def test_cli_text_report(runner, trained_run) -> None:
    result = runner.invoke(main, ["evaluate", "--run", str(trained_run.path)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "run",
        "text",
        "characters",
        "context",
        "loss",
        "bpc",
        "perplexity",
    ]
    assert lines[3] == "context:    windows of 32 characters, each from a zero state"
    assert lines[4].endswith(" nats/char") and lines[5].endswith(" bits/char")


def test_cli_rejects_two_sources(runner, trained_run) -> None:
    result = runner.invoke(main, ["evaluate", "--corpus", "a.txt", "--data", "b.h5"])
    assert result.exit_code == 2
    assert result.stderr == "Error: give at most one of --corpus and --data\n"


def test_cli_scores_a_short_text(runner, trained_run, tmp_path: Path) -> None:
    """Three characters to score: no train/val split is needed (it used to be required)."""
    short = tmp_path / "short.txt"
    short.write_text("ab")
    result = runner.invoke(
        main, ["evaluate", "--run", str(trained_run.path), "--corpus", str(short), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["chars"] == 2  # "b" and the final line break


def test_own_split_replaced_by_other_text_is_refused(trained_run, tmp_path: Path) -> None:
    """The run's prepared file made again from another corpus: its val split is not the run's."""
    import shutil

    from chargen.errors import RunError

    run = tmp_path / "copy"
    shutil.copytree(trained_run.path, run)
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, "source_sha256": "0" * 64}))
    with pytest.raises(RunError, match=r"holds other text than the run .* was trained on; pass"):
        evaluate_run(run, tmp_path)


def _numpy_sampler_and_val_ids(run):
    """The run's numpy sampler and its val split's ids, as carried-state scoring reads them."""
    import numpy as np

    from chargen.data.prepared import read_ids
    from chargen.generation.load import load_numpy_sampler
    from chargen.runs.rundir import prepared_path

    run_dir, sampler = load_numpy_sampler(run.path, run.path.parent)
    return sampler, read_ids(prepared_path(run_dir), "val").astype(np.int64)


def test_numpy_streams_zeroed_every_window_score_as_evaluate_does(trained_run) -> None:
    """One stream zeroed every seq_len characters is evaluate's windows (stride seq_len, a
    short tail), so numpy's carried-state reader and Keras' windows agree where they should."""
    from chargen.tools.evaluate import stream_loss

    sampler, ids = _numpy_sampler_and_val_ids(trained_run)
    total, count = stream_loss(sampler, ids, 1, 32)
    expected = evaluate_run(trained_run.path, trained_run.path.parent)
    assert count == expected.chars
    assert total / count == pytest.approx(expected.nats_per_char, rel=1e-4)


def test_carried_state_reads_the_split_as_streams(trained_run) -> None:
    from chargen.tools.evaluate import carried_streams, stream_loss

    sampler, ids = _numpy_sampler_and_val_ids(trained_run)
    streams = carried_streams(len(ids) - 1)
    assert streams == min(64, (len(ids) - 1) // 1000)
    ev = evaluate_run(trained_run.path, trained_run.path.parent, carry_state=True)
    total, count = stream_loss(sampler, ids, streams)
    assert ev.chars == count == (len(ids) - 1) // streams * streams
    assert ev.nats_per_char == pytest.approx(total / count, rel=1e-9)
    assert ev.context == f"state carried, {streams} streams of {count // streams:,} characters"
    windowed = evaluate_run(trained_run.path, trained_run.path.parent)
    # the same weights, another reading: near the windowed figure but not it
    assert abs(ev.nats_per_char - windowed.nats_per_char) < 0.2
    assert ev.nats_per_char != pytest.approx(windowed.nats_per_char, rel=1e-4)


def test_carried_state_on_a_short_text_is_one_stream(runner, trained_run, tmp_path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("Alice was beginning to get very tired.\n", encoding="utf-8")
    result = runner.invoke(
        main,
        ["evaluate", "--run", str(trained_run.path), "--corpus", str(short), "--carry-state",
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["chars"] == 38  # every character but the first
    assert record["context"] == "state carried, 1 stream of 38 characters"


def test_carried_state_with_nothing_to_score_is_an_error(runner, trained_run, tmp_path) -> None:
    one = tmp_path / "one.txt"
    one.write_text("\u4e00\u4e01", encoding="utf-8")  # outside the vocabulary: no character left
    result = runner.invoke(
        main, ["evaluate", "--run", str(trained_run.path), "--corpus", str(one), "--carry-state"]
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: nothing to evaluate in {one}: fewer than 2 characters in vocabulary\n"
    )
