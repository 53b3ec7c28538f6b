from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargen.config import Config, load_config, preset_names
from chargen.errors import ConfigError
from tests.conftest import ROOT


def test_defaults_are_the_recommended_cpu_model() -> None:
    c = Config()
    assert (c.layers, c.units, c.embedding_dim, c.seq_len, c.batch_size) == (2, 256, 64, 100, 64)
    assert c.rng_seed is None


def test_presets_exist_and_load() -> None:
    assert {"tiny", "default", "gpu"} <= set(preset_names())
    tiny = load_config("tiny")
    assert (tiny.layers, tiny.units, tiny.seq_len) == (1, 64, 64)
    assert load_config("gpu").units == 1024


def test_flags_override_preset_and_none_is_skipped() -> None:
    c = load_config("tiny").replace(units=12, epochs=None)
    assert c.units == 12
    assert c.epochs == load_config("tiny").epochs


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("layers = 1\nunitz = 5\n")
    with pytest.raises(ConfigError, match="unknown config key 'unitz'"):
        load_config(str(path))


def test_unknown_preset_lists_presets() -> None:
    with pytest.raises(ConfigError, match=r"unknown config preset 'nope' \(presets: .*tiny"):
        load_config("nope")


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="config file not found: missing.toml"):
        load_config("missing.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("layers = = 2\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(str(path))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers": 0}, "layers must be at least 1, got 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"val_fraction": 0.0}, r"val_fraction must be in \(0, 1\), got 0.0"),
        ({"learning_rate": -1.0}, "learning_rate must be positive"),
        ({"units": 2.5}, "config key 'units' must be int, got 2.5"),
        ({"lowercase": 1}, "config key 'lowercase' must be bool, got 1"),
        ({"layers": True}, "config key 'layers' must be int, got True"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number, got nan"),
        ({"learning_rate": float("inf")}, "learning_rate must be a finite number, got inf"),
        ({"clip_norm": float("nan")}, "clip_norm must be a finite number, got nan"),
        ({"cpu_shards": 0}, "cpu_shards must be at least 1, got 0"),
        ({"cpu_shards": "many"}, "cpu_shards must be a number or 'auto', got 'many'"),
        ({"cpu_shards": 1.5}, "config key 'cpu_shards' must be int or str, got 1.5"),
        ({"optimizer": "sgd"}, "optimizer must be one of adam, nadam, lion, got 'sgd'"),
        ({"beta_2": 1.0}, r"beta_2 must be in \(0, 1\), got 1.0"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0, got -0.1"),
        ({"layer_units": (64, True)}, "config key 'layer_units' must be a list of int or none"),
        ({"cell": "rnn"}, "cell must be one of lstm, gru, got 'rnn'"),
    ],
)
def test_bad_values_name_the_key(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**changes)


def test_default_preset_shards_per_physical_core() -> None:
    assert load_config("default").cpu_shards == "auto"
    assert Config(cpu_shards="auto").replace(cpu_shards=3).cpu_shards == 3


def test_int_is_accepted_for_float_fields() -> None:
    config = Config(learning_rate=1)  # TOML `learning_rate = 1`; Keras refuses an int
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)


configs = st.builds(
    Config,
    layers=st.integers(1, 8),
    units=st.integers(1, 4096),
    dropout=st.floats(0, 0.99),
    seq_len=st.integers(1, 1000),
    learning_rate=st.floats(1e-6, 1.0),
    lowercase=st.booleans(),
    steps_per_epoch=st.none() | st.integers(1, 10**6),
    rng_seed=st.none() | st.integers(0, 2**31 - 1),
)


@given(configs)
def test_json_round_trip(config: Config) -> None:
    assert Config.from_dict(json.loads(config.to_json())) == config


def test_a_folder_named_like_a_preset_does_not_hide_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    assert load_config("tiny") == load_config(str(ROOT / "configs" / "tiny.toml"))
