"""One frozen Config: defaults, then a TOML preset or file, then the flags a user typed."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Self

from chargen.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
CELLS = ("lstm", "gru")
OPTIMIZERS = ("adam", "nadam", "lion")


LR_SCHEDULES = ("auto", "constant", "cosine", "anneal")
BUDGET_SCHEDULES = ("cosine", "anneal")
# what `auto` means under --max-time (docs/performance.md, Schedules, has the measurement)
AUTO_SCHEDULE = "anneal"


class ConfigRecord:
    """What Config and AutoencoderConfig share: flagged copies, config.json, strict loading."""

    def _check_training_rates(self) -> None:
        """The ranges every trained config shares: split, rate, clipping and seed."""
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.clip_norm < 0:
            raise ConfigError(f"clip_norm must be >= 0 (0 disables clipping), got {self.clip_norm}")
        if self.rng_seed is not None and not 0 <= self.rng_seed < 2**31:
            raise ConfigError(f"rng_seed must be in [0, 2**31), got {self.rng_seed}")

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` applied; None values are skipped (flags not given)."""
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(given) - {f.name for f in fields(self)})
        if unknown:
            raise ConfigError(f"unknown config key {unknown[0]!r}")
        return dataclasses.replace(self, **given)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> Self:
        """Build from plain data, rejecting unknown keys so typos never pass silently."""
        names = {f.name for f in fields(cls)}
        for key in data:
            if key not in names:
                raise ConfigError(f"unknown config key {key!r} in {source}")
        return cls(**dict(data))

    def _check_fields(self) -> None:
        """Each field's type against its hint; ints where a float belongs become floats
        (Keras' optimizers refuse an int learning rate, and TOML reads `learning_rate = 1`)."""
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            _check_type(f.name, value, hints[f.name])
            if _is_float(hints[f.name]) and type(value) is int:
                value = float(value)
                object.__setattr__(self, f.name, value)
            # nan passes every `<` check; inf trains to nan with exit 0
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value}")

    def _require_choice(self, name: str, choices: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")

    def _require_at_least_one(self, *names: str) -> None:
        """Counts that must be at least 1 where given (None: not set)."""
        for name in names:
            value = getattr(self, name)
            if isinstance(value, int) and value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")


def read_toml(name_or_path: str) -> tuple[dict[str, Any], str]:
    """A preset's or TOML file's data and where it came from (for error messages)."""
    path = resolve_config_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from exc
    return data, str(path)


@dataclass(frozen=True, kw_only=True)
class Config(ConfigRecord):
    """Every hyperparameter of a run; the TOML keys, fields and flags share these names."""

    # model
    layers: int = 2
    units: int = 256
    layer_units: tuple[int, ...] | None = None  # per-layer sizes, bottom first; overrides units
    embedding_dim: int = 64
    dropout: float = 0.0
    cell: str = "lstm"  # or "gru", for comparison
    layer_norm: bool = False  # LayerNormalization on each recurrent layer's output
    # data
    seq_len: int = 100
    batch_size: int = 64
    val_fraction: float = 0.1
    lowercase: bool = False
    stateful: bool = False  # batches continue each other's streams; state carried (char-rnn)
    # optimisation
    epochs: int = 10
    learning_rate: float = 2e-3
    optimizer: str = "adam"  # or "nadam", "lion" (docs/performance.md, Tuning the default preset)
    beta_2: float | None = None  # None: the optimizer's own (Adam, Nadam 0.999; Lion 0.99)
    weight_decay: float = 0.0  # decoupled (AdamW-style) on kernels and embeddings, not biases
    clip_norm: float = 5.0
    steps_per_epoch: int | None = None
    rng_seed: int | None = None
    # speed
    jit_compile: bool = False  # XLA-compile the training step on a CPU (ignored on a GPU)
    # with XLA on a CPU: split each batch into this many concurrent steps; "auto": one per
    # physical core, at most one per MIN_SHARD_BATCH samples (accel.resolve_shards)
    cpu_shards: int | str = 1
    # reliability and training controls (README: Resuming and reliability)
    checkpoint_every: int | None = None
    eval_every: int | None = None
    early_stopping: int | None = None
    max_steps: int | None = None
    max_time: float | None = None
    warmup_steps: int = 0
    lr_decay: float = 1.0
    lr_plateau_patience: int | None = None
    lr_plateau_factor: float = 0.5
    # "auto": cosine decay over the --max-time budget when no other schedule is set, else
    # constant; "cosine": over --max-time and/or --max-steps; "constant"
    lr_schedule: str = "auto"
    deterministic: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.layer_units, list):  # TOML and JSON give lists; keep Config hashable
            object.__setattr__(self, "layer_units", tuple(self.layer_units))
        self._check_fields()
        self._check_shape()
        self._check_budget()
        self._check_schedule()
        self._check_rates()

    def _check_shape(self) -> None:
        """The model's and the batches' sizes."""
        self._require_at_least_one(
            "layers", "units", "embedding_dim", "seq_len", "batch_size", "epochs"
        )
        if isinstance(self.cpu_shards, str) and self.cpu_shards != "auto":
            raise ConfigError(f"cpu_shards must be a number or 'auto', got {self.cpu_shards!r}")
        self._require_at_least_one("cpu_shards")
        self._require_choice("cell", CELLS)
        if self.layer_units is not None:
            if len(self.layer_units) != self.layers:
                raise ConfigError(
                    f"layer_units has {len(self.layer_units)} entries but layers = {self.layers}"
                )
            if min(self.layer_units) < 1:
                raise ConfigError(f"layer_units must all be at least 1, got {self.layer_units}")

    def _check_budget(self) -> None:
        """How long a run goes and how often it stops to save, evaluate or give up."""
        self._require_at_least_one("steps_per_epoch", "checkpoint_every", "eval_every")
        self._require_at_least_one("early_stopping", "max_steps", "lr_plateau_patience")
        if self.max_time is not None and self.max_time <= 0:
            raise ConfigError(f"max_time must be positive seconds, got {self.max_time}")
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be >= 0, got {self.warmup_steps}")

    def _check_schedule(self) -> None:
        """The learning-rate schedule, and the budget a decaying one needs."""
        if not 0.0 < self.lr_decay <= 1.0:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        self._require_choice("lr_schedule", LR_SCHEDULES)
        if (
            self.lr_schedule in BUDGET_SCHEDULES
            and self.max_time is None
            and self.max_steps is None
        ):
            raise ConfigError(
                f"lr_schedule {self.lr_schedule!r} decays over a budget: give max_time or max_steps"
            )
        if not 0.0 < self.lr_plateau_factor < 1.0:
            raise ConfigError(f"lr_plateau_factor must be in (0, 1), got {self.lr_plateau_factor}")

    def _check_rates(self) -> None:
        """Fractions, rates and the seed, each within its range."""
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        self._require_choice("optimizer", OPTIMIZERS)
        if self.beta_2 is not None and not 0.0 < self.beta_2 < 1.0:
            raise ConfigError(f"beta_2 must be in (0, 1), got {self.beta_2}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        self._check_training_rates()

    @property
    def budget_schedule(self) -> str | None:
        """The schedule the budget shapes (controls.learning_rate), or None for none: the one
        asked for, or with `auto` AUTO_SCHEDULE under a time budget and no other schedule. A
        budget is then spent annealed to its end, instead of stopping at a high constant rate
        wherever the clock runs out."""
        if self.lr_schedule != "auto":
            return self.lr_schedule if self.lr_schedule in BUDGET_SCHEDULES else None
        own = self.lr_decay != 1.0 or self.lr_plateau_patience is not None
        return AUTO_SCHEDULE if self.max_time is not None and not own else None

    @property
    def layer_sizes(self) -> list[int]:
        """Units of each recurrent layer, bottom first: `layer_units`, else `units` x `layers`."""
        return list(self.layer_units) if self.layer_units else [self.units] * self.layers


def _kinds(hint: Any) -> tuple[Any, ...]:
    """The types a field's hint allows (`float | None` -> float, NoneType)."""
    return typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


def _is_float(hint: Any) -> bool:
    return float in _kinds(hint)


def _check_type(name: str, value: Any, hint: Any) -> None:
    if not any(_matches(kind, value) for kind in _kinds(hint)):
        names = " or ".join(_type_name(k) for k in _kinds(hint))
        raise ConfigError(f"config key {name!r} must be {names}, got {value!r}")


def _matches(kind: Any, value: Any) -> bool:
    """Whether `value` is a `kind`; a bool is never a number, an int is a float."""
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        return isinstance(value, tuple) and bool(value) and all(_matches(item, v) for v in value)
    if kind is type(None) or isinstance(value, bool):
        return value is None if kind is type(None) else kind is bool
    return isinstance(value, int | float) if kind is float else isinstance(value, kind)


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return f"a list of {typing.get_args(kind)[0].__name__}"
    return "none" if kind is type(None) else kind.__name__


AUTOENCODER_PRESET_PREFIX = "autoencoder"  # configs/autoencoder*.toml: `chargen autoencoder`


def preset_names() -> list[str]:
    """The language-model presets; the autoencoder's own presets are listed apart."""
    stems = (p.stem for p in PRESETS_DIR.glob("*.toml"))
    return sorted(s for s in stems if not s.startswith(AUTOENCODER_PRESET_PREFIX))


def autoencoder_preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob(f"{AUTOENCODER_PRESET_PREFIX}*.toml"))


def resolve_config_path(name_or_path: str) -> Path:
    """A preset name (`tiny`) or a path to any TOML file."""
    candidate = Path(name_or_path)
    # an existing file counts, not a folder: a `tiny/` folder must not hide the `tiny` preset
    if candidate.suffix == ".toml" or candidate.is_file() or "/" in name_or_path:
        if not candidate.is_file():
            raise ConfigError(f"config file not found: {name_or_path}")
        return candidate
    preset = PRESETS_DIR / f"{name_or_path}.toml"
    if not preset.is_file():
        known = ", ".join(preset_names() + autoencoder_preset_names())
        raise ConfigError(f"unknown config preset {name_or_path!r} (presets: {known})")
    return preset


def load_config(name_or_path: str | None = None) -> Config:
    """Defaults, overlaid with a preset or TOML file when one is named."""
    if name_or_path is None:
        return Config()
    if name_or_path in autoencoder_preset_names():
        raise ConfigError(
            f"{name_or_path!r} is an autoencoder preset; use it with chargen autoencoder train"
        )
    data, source = read_toml(name_or_path)
    return Config.from_dict(data, source=source)
