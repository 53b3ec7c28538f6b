"""AutoencoderConfig: the word autoencoder's hyperparameters, from defaults, a TOML preset and
the flags a user typed, in that order (as chargen.config does for language models)."""

from __future__ import annotations

from dataclasses import dataclass

from chargen.config import ConfigRecord, read_toml
from chargen.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class AutoencoderConfig(ConfigRecord):
    """Every hyperparameter of an autoencoder run; TOML keys, fields and flags share names."""

    # model
    units: int = 256
    embedding_dim: int = 32
    thought_dim: int | None = None  # a Dense bottleneck between encoder and decoder
    # words
    max_word_len: int = 20
    lowercase: bool = True
    val_fraction: float = 0.1  # of the distinct words (types), not of the tokens
    noise: float = 0.0  # probability of deleting each input character while training
    # an epoch is every training token (frequent words often) rather than each word type once:
    # a denoiser then learns that "th" is more likely "the" than "thy"
    frequency_weighted: bool = False
    # optimisation
    batch_size: int = 64
    epochs: int = 30
    learning_rate: float = 3e-3
    clip_norm: float = 5.0
    rng_seed: int = 0
    max_time: float | None = None

    def __post_init__(self) -> None:
        self._check_fields()
        self._require_at_least_one(
            "units", "embedding_dim", "max_word_len", "batch_size", "epochs", "thought_dim"
        )
        if not 0.0 <= self.noise < 1.0:
            raise ConfigError(f"noise must be in [0, 1), got {self.noise}")
        self._check_training_rates()
        if self.max_time is not None and self.max_time <= 0:
            raise ConfigError(f"max_time must be positive seconds, got {self.max_time}")


def load_autoencoder_config(name_or_path: str | None = None) -> AutoencoderConfig:
    """Defaults, overlaid with a preset (`autoencoder`, `autoencoder-noise`) or a TOML file."""
    if name_or_path is None:
        return AutoencoderConfig()
    data, source = read_toml(name_or_path)
    return AutoencoderConfig.from_dict(data, source=source)
