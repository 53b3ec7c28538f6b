"""Presets in configs/: each loads by name, says what it reproduces, and builds its model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargen.cli import main
from chargen.config import PRESETS_DIR, Config, load_config, preset_names
from chargen.errors import ConfigError

CLASSIC = ["alice", "alice-2layer", "char-rnn", "char-rnn-large", "stackabuse", "tf-tutorial"]


def test_every_classic_preset_is_listed() -> None:
    assert set(CLASSIC) | {"default", "gpu", "tiny"} == set(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_preset_loads_and_opens_with_a_comment(name: str) -> None:
    text = (PRESETS_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert text.startswith(f"# {name}: ")
    config = load_config(name)
    assert config == Config.from_dict(json.loads(config.to_json()))


@pytest.mark.parametrize(
    ("name", "sizes", "embedding_dim", "seq_len", "batch_size", "dropout"),
    [
        ("alice", [256], 32, 100, 128, 0.2),
        ("alice-2layer", [256, 256], 32, 100, 64, 0.2),
        ("stackabuse", [256, 256, 128], 32, 100, 256, 0.2),
        ("tf-tutorial", [1024], 256, 100, 64, 0.0),
        ("char-rnn", [128, 128], 64, 50, 50, 0.0),
        ("char-rnn-large", [512, 512, 512], 64, 50, 50, 0.5),
    ],
)
def test_classic_preset_values(
    name: str, sizes: list[int], embedding_dim: int, seq_len: int, batch_size: int, dropout: float
) -> None:
    c = load_config(name)
    assert (c.layer_sizes, c.embedding_dim, c.seq_len, c.batch_size, c.dropout) == (
        sizes,
        embedding_dim,
        seq_len,
        batch_size,
        dropout,
    )


def test_stackabuse_model_has_per_layer_units() -> None:
    from chargen.model.build import build_model, recurrent_layers

    c = load_config("stackabuse")
    model = build_model(
        vocab_size=60,
        embedding_dim=c.embedding_dim,
        units=c.units,
        layers=c.layers,
        dropout=c.dropout,
        layer_units=c.layer_units,
    )
    assert [layer.units for layer in recurrent_layers(model)] == [256, 256, 128]


def test_layer_units_checks() -> None:
    assert Config(layers=2, layer_units=[8, 4]).layer_units == (8, 4)
    assert Config(layers=2, units=5).layer_sizes == [5, 5]
    with pytest.raises(ConfigError, match=r"^layer_units has 3 entries but layers = 2$"):
        Config(layers=2, layer_units=(8, 8, 8))
    with pytest.raises(ConfigError, match=r"^config key 'layer_units' must be a list of int or"):
        Config(layers=1, layer_units=("8",))
    with pytest.raises(ConfigError, match=r"^layer_units must all be at least 1, got \(8, 0\)$"):
        Config(layers=2, layer_units=(8, 0))


def test_train_and_sample_with_layer_units(runner: CliRunner, tiny_corpus: Path, tmp_path: Path):
    preset = tmp_path / "pyramid.toml"
    preset.write_text(
        "layers = 2\nunits = 8\nlayer_units = [8, 4]\nembedding_dim = 4\nseq_len = 16\n"
        "batch_size = 8\nepochs = 1\nsteps_per_epoch = 3\n",
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    args = ["train", "--corpus", str(tiny_corpus), "--config", str(preset), "--rng-seed", "1"]
    result = runner.invoke(main, [*args, "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.stderr
    assert json.loads((run_dir / "config.json").read_text())["layer_units"] == [8, 4]
    sampled = runner.invoke(
        main, ["sample", "--run", str(run_dir), "--seed", "Alice", "--length", "10", "--argmax"]
    )
    assert sampled.exit_code == 0, sampled.stderr
    assert len(sampled.stdout) == 11

    typed = tmp_path / "typed"
    result = runner.invoke(main, [*args, "--units", "6", "--run-dir", str(typed)])
    assert result.exit_code == 0, result.stderr
    config = json.loads((typed / "config.json").read_text())
    assert (config["units"], config["layer_units"]) == (6, None)
