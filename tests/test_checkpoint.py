"""Checkpoint files: round trip of variables and position, refusals, schedule and budgets."""

from __future__ import annotations

import errno
import math
from pathlib import Path

import numpy as np
import pytest

from chargen.config import Config
from chargen.errors import ConfigError, RunError, TrainingError
from chargen.train.checkpoint import load_checkpoint, save_checkpoint
from chargen.train.controls import Progress, learning_rate, parse_duration

VOCAB = '{"chars": "abc"}'


def _model(seed: int = 0):
    import keras

    from chargen.model.build import build_model, compile_model

    keras.utils.set_random_seed(seed)
    model = build_model(vocab_size=5, embedding_dim=2, units=4, layers=1, dropout=0.1)
    compile_model(model, learning_rate=0.01, clip_norm=5.0)
    x = np.arange(20, dtype=np.int32).reshape(2, 10) % 5
    model.fit(x, x, epochs=1, verbose=0)  # creates the optimizer's moments
    return model


def test_round_trip_restores_model_and_optimizer(tmp_path: Path) -> None:
    config = {"units": 4}
    saved = _model(0)
    path = tmp_path / "checkpoint.h5"
    position = {"epoch": 2, "step_in_epoch": 5, "global_step": 37}
    save_checkpoint(path, saved, position, config_json='{"units": 4}', vocab_json=VOCAB)
    fresh = _model(1)
    assert not np.array_equal(fresh.variables[1].numpy(), saved.variables[1].numpy())
    assert load_checkpoint(path, fresh, config=config, vocab_json=VOCAB) == position
    for a, b in zip(saved.variables, fresh.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(saved.optimizer.variables, fresh.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.h5"]


def test_other_config_or_vocab_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.h5"
    save_checkpoint(path, _model(), {}, config_json='{"units": 4, "epochs": 1}', vocab_json=VOCAB)
    # epochs may change on resume; units may not
    assert load_checkpoint(path, _model(), config={"units": 4, "epochs": 9}, vocab_json=VOCAB) == {}
    with pytest.raises(RunError) as info:
        load_checkpoint(path, _model(), config={"units": 8, "epochs": 1}, vocab_json=VOCAB)
    assert str(info.value).startswith(f"{path} was written with units=4, the run now has 8;")
    with pytest.raises(RunError, match="belongs to another vocabulary"):
        load_checkpoint(path, _model(), config={"units": 4}, vocab_json='{"chars": "abd"}')


def test_disk_full_keeps_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "checkpoint.h5"
    model = _model()
    save_checkpoint(path, model, {"global_step": 1}, config_json="{}", vocab_json=VOCAB)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("chargen.train.checkpoint.h5_digest", full)
    with pytest.raises(TrainingError) as info:
        save_checkpoint(path, model, {"global_step": 2}, config_json="{}", vocab_json=VOCAB)
    assert str(info.value) == (
        f"cannot write checkpoint {path}: No space left on device; the previous checkpoint is kept"
    )
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.h5"]


def test_early_stopping_and_plateau_counters() -> None:
    config = Config(early_stopping=3, lr_plateau_patience=2, lr_plateau_factor=0.5)
    p = Progress()
    assert p.record_eval(2.0, config) is True
    assert p.record_eval(2.1, config) is False
    assert (p.bad_evals, p.lr_scale, p.stopped) == (1, 1.0, None)
    p.record_eval(2.0, config)  # equal is not better
    assert (p.bad_evals, p.lr_scale, p.stopped) == (2, 0.5, None)
    p.record_eval(2.5, config)
    assert (p.bad_evals, p.lr_scale, p.stopped) == (3, 0.5, "early_stopping")
    assert Progress.from_dict(p.to_dict()) == p
    assert p.best_val == 2.0 and Progress().best_val == math.inf


def test_learning_rate_warmup_decay_and_plateau() -> None:
    config = Config(learning_rate=0.01, warmup_steps=4, lr_decay=0.5)
    assert learning_rate(config, Progress(global_step=0)) == pytest.approx(0.0025)
    assert learning_rate(config, Progress(global_step=3)) == pytest.approx(0.01)
    assert learning_rate(config, Progress(global_step=9, epoch=2)) == pytest.approx(0.0025)
    assert learning_rate(config, Progress(global_step=9, lr_scale=0.5)) == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600.0), ("90s", 90.0), ("90m", 5400.0), ("1.5h", 5400.0)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0", "-5m", "nan", "infh"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="max_time must be"):
        parse_duration(text)


def test_new_config_fields_are_checked() -> None:
    with pytest.raises(ConfigError, match="checkpoint_every must be at least 1, got 0"):
        Config(checkpoint_every=0)
    with pytest.raises(ConfigError, match=r"lr_decay must be in \(0, 1\], got 1.5"):
        Config(lr_decay=1.5)
    config = Config(max_time=60.0, deterministic=True, eval_every=5)
    assert Config.from_dict(config.to_dict()) == config


def test_too_little_space_is_refused_before_hdf5_writes(tmp_path: Path, monkeypatch) -> None:
    """HDF5 crashes the process when the disk fills as it closes a file: check space first."""
    import collections
    import shutil

    path = tmp_path / "checkpoint.h5"
    model = _model()
    save_checkpoint(path, model, {"global_step": 1}, config_json="{}", vocab_json=VOCAB)
    before = path.read_bytes()
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 5000, 5000))
    with pytest.raises(TrainingError) as info:
        save_checkpoint(path, model, {"global_step": 2}, config_json="{}", vocab_json=VOCAB)
    assert str(info.value) == (
        f"cannot write checkpoint {path}: No space left on device (needs about 1.1 MB, 0.0 MB "
        "free); the previous checkpoint is kept"
    )
    assert path.read_bytes() == before


def test_a_budget_schedule_ends_on_a_tenth_of_the_rate_or_zero() -> None:
    cosine = Config(learning_rate=0.01, max_steps=100, lr_schedule="cosine")
    rate = [learning_rate(cosine, Progress(), used) for used in (0.0, 0.5, 1.0, 1.7)]
    assert rate == pytest.approx([0.01, 0.0055, 0.001, 0.001])
    anneal = Config(learning_rate=0.01, max_steps=100, lr_schedule="anneal")
    rate = [learning_rate(anneal, Progress(), used) for used in (0.0, 0.49, 0.75, 1.0, 1.2)]
    assert rate == pytest.approx([0.01, 0.01, 0.005, 0.0, 0.0])
    warm = Config(learning_rate=0.01, max_time=60.0, warmup_steps=4, lr_schedule="cosine")
    assert learning_rate(warm, Progress(global_step=1), 0.5) == pytest.approx(0.0055 / 2)
    # without a budget fraction (no budget schedule) the factor is 1
    assert learning_rate(cosine, Progress(), None) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"max_time": 600.0}, "anneal"),  # auto: a time budget anneals to its end
        ({"max_steps": 100}, None),  # a step cap alone is a stop, not a schedule
        ({"max_time": 600.0, "lr_decay": 0.9}, None),  # the user's own schedule stands
        ({"max_time": 600.0, "lr_plateau_patience": 2}, None),
        ({"max_time": 600.0, "lr_schedule": "constant"}, None),
        ({"max_steps": 100, "lr_schedule": "cosine"}, "cosine"),
        ({"max_time": 60.0, "lr_schedule": "anneal"}, "anneal"),
    ],
)
def test_when_the_budget_schedules_the_rate(fields: dict, expected: str | None) -> None:
    assert Config(**fields).budget_schedule == expected


def test_a_budget_schedule_needs_a_budget() -> None:
    with pytest.raises(ConfigError, match="^lr_schedule 'cosine' decays over a budget"):
        Config(lr_schedule="cosine")
    with pytest.raises(ConfigError, match="^lr_schedule 'anneal' decays over a budget"):
        Config(lr_schedule="anneal")
    with pytest.raises(ConfigError, match="^lr_schedule must be one of auto, constant, cosine"):
        Config(lr_schedule="linear")


def test_training_on_a_step_budget_follows_the_cosine(tmp_path, tiny_config, tiny_prepared):
    from dataclasses import replace

    from chargen.runs.rundir import create_run_dir
    from chargen.train.run import train

    config = replace(tiny_config, epochs=3, steps_per_epoch=4, max_steps=12, lr_schedule="cosine")
    result = train(config, tiny_prepared, create_run_dir(tmp_path / "runs", tmp_path / "r", "t"))
    # each row shows the rate of its epoch's last step (global step 3, 7, 11 of 12)
    expected = [learning_rate(config, Progress(), g / 12) for g in (3, 7, 11)]
    assert [s.learning_rate for s in result.history] == pytest.approx(expected, rel=1e-5)
    assert expected[0] > expected[1] > expected[2] > 0.001
