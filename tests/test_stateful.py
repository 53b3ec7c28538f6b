"""Stateful training on continuing streams, and GRU cells through training and sampling."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from chargen.cli import main
from chargen.config import Config
from chargen.data.streams import iter_stream_batches, stream_layout
from chargen.errors import ConfigError, CorpusError
from chargen.tools.info import count_parameters


@pytest.fixture
def ids_file(tmp_path: Path) -> Path:
    path = tmp_path / "ids.h5"
    with h5py.File(path, "w") as h5:
        h5["train"] = np.arange(101, dtype=np.uint8)
        h5["val"] = np.arange(20, dtype=np.uint8)
    return path


def test_stream_batches_continue_each_other(ids_file: Path) -> None:
    assert stream_layout(101, 5, 4) == (25, 5)
    batches = list(iter_stream_batches(ids_file, "train", 5, 4))
    assert len(batches) == 5 and batches[0].shape == (4, 6)
    assert batches[0][:, 0].tolist() == [0, 25, 50, 75]
    for before, after in zip(batches, batches[1:], strict=False):
        # the last target of a row is the first input of the same row in the next batch
        assert (before[:, -1] == after[:, 0]).all()
        assert (after[:, 0] - before[:, 0] == 5).all()
    shifted = next(iter_stream_batches(ids_file, "train", 5, 4, offset=2))
    assert shifted[0, 0] == 2


def test_stream_batches_need_enough_text(ids_file: Path) -> None:
    with pytest.raises(CorpusError, match=r"^the val split \(20 characters\) is too short for 8"):
        next(iter_stream_batches(ids_file, "val", 5, 8))


def test_cell_must_be_known() -> None:
    with pytest.raises(ConfigError, match=r"^cell must be one of lstm, gru, got 'rnn'$"):
        Config(cell="rnn")


def test_gru_parameter_count_matches_keras() -> None:
    from chargen.model.build import build_model

    model = build_model(vocab_size=30, embedding_dim=6, units=10, layers=2, cell="gru")
    counted = count_parameters(vocab_size=30, embedding_dim=6, layer_units=[10, 10], cell="gru")
    assert counted == model.count_params()


def _train(runner: CliRunner, corpus: Path, run_dir: Path, *extra: str):
    args = [
        "train", "--corpus", str(corpus), "--run-dir", str(run_dir), "--layers", "2",
        "--units", "12", "--embedding-dim", "4", "--seq-len", "16", "--batch-size", "4",
        "--epochs", "2", "--rng-seed", "0", *extra,
    ]  # fmt: skip
    return runner.invoke(main, args)


@pytest.mark.parametrize(
    "extra", [["--stateful"], ["--cell", "gru"], ["--stateful", "--cell", "gru"]]
)
def test_train_and_sample_variants(
    runner: CliRunner, tiny_corpus: Path, tmp_path: Path, extra: list[str]
) -> None:
    run_dir = tmp_path / "run"
    result = _train(runner, tiny_corpus, run_dir, *extra)
    assert result.exit_code == 0, result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["stateful"] is ("--stateful" in extra)
    assert config["cell"] == ("gru" if "gru" in extra else "lstm")
    rows = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(np.isfinite(float(r.split(",")[2])) for r in rows)
    args = ["sample", "--run", str(run_dir), "--seed", "Alice", "--length", "30", "--argmax"]
    sampled = runner.invoke(main, args)
    assert sampled.exit_code == 0, sampled.stderr
    assert len(sampled.stdout) == 31
    assert runner.invoke(main, args).stdout == sampled.stdout


@pytest.mark.parametrize(("cell", "layer_norm"), [("lstm", True), ("gru", False), ("gru", True)])
def test_sampler_steps_match_the_full_model(cell: str, layer_norm: bool) -> None:
    """Priming one step at a time gives the logits the whole-sequence model gives."""
    import keras

    from chargen.data.vocab import Vocab
    from chargen.generation.sampler import Sampler
    from chargen.model.build import build_model

    keras.utils.set_random_seed(0)
    vocab = Vocab.from_text("abcdefgh ")
    model = build_model(
        vocab_size=len(vocab), embedding_dim=5, units=7, layers=2, cell=cell, layer_norm=layer_norm
    )
    ids = np.array([[1, 2, 3, 0, 4, 5]], dtype=np.int32)
    stepped, _ = Sampler(model, vocab, jit_compile=False)._prime_fn(ids)
    whole = model(ids)[:, -1]
    np.testing.assert_allclose(stepped.numpy(), np.asarray(whole), rtol=1e-4, atol=1e-5)
    counted = count_parameters(
        vocab_size=len(vocab), embedding_dim=5, layer_units=[7, 7], cell=cell, layer_norm=layer_norm
    )
    assert counted == model.count_params()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stateful_run_resumed_inside_an_epoch_equals_uninterrupted(
    runner: CliRunner, tiny_corpus: Path, tmp_path: Path, cell: str
) -> None:
    """The carried states are in the checkpoint: a resume inside an epoch continues the
    streams from them, not from zeros, so the metrics are those of an uninterrupted run."""
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    extra = ["--stateful", "--cell", cell]
    assert _train(runner, tiny_corpus, whole, *extra).exit_code == 0
    assert _train(runner, tiny_corpus, parts, *extra, "--max-steps", "7").exit_code == 0
    resumed = runner.invoke(main, ["train", "--resume", str(parts), "--max-steps", "1000"])
    assert resumed.exit_code == 0, resumed.stderr

    def rows(run: Path) -> list[list[str]]:
        lines = (run / "metrics.csv").read_text().splitlines()
        keep = [i for i, k in enumerate(lines[0].split(",")) if k not in {"chars_per_s", "seconds"}]
        return [[r.split(",")[i] for i in keep] for r in lines]

    assert len(rows(whole)) == 3
    step = rows(whole)[0].index("step")
    budget = [r for r in rows(parts) if r[step] == "7"]  # the --max-steps 7 row, measured
    assert len(budget) == 1 and budget[0][-1] == "1"
    assert [r for r in rows(parts) if r[step] != "7"] == rows(whole)


def test_stateful_training_warms_up_per_step(tmp_path: Path, tiny_config, tiny_prepared) -> None:
    from dataclasses import replace

    from chargen.runs.rundir import create_run_dir
    from chargen.train.run import train

    config = replace(
        tiny_config, stateful=True, epochs=2, steps_per_epoch=3, warmup_steps=10, batch_size=2
    )
    result = train(config, tiny_prepared, create_run_dir(tmp_path / "runs", tmp_path / "r", "t"))
    # each row's rate is that of its epoch's last step: global steps 3 and 6 of the warm-up
    rates = [s.learning_rate for s in result.history]
    assert rates == pytest.approx([0.01 * 3 / 10, 0.01 * 6 / 10], rel=1e-5)
