"""Checkpoints: model and optimizer variables plus the training position, in one checked HDF5.

Written with h5py (no pickle, no code), to a temporary file renamed into place, so a kill at any
moment leaves the previous checkpoint. Every array is covered by a SHA-256 stored in the file,
with the config and vocabulary it belongs to: a damaged or mismatched checkpoint is refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from chargen import __version__
from chargen.errors import RunError, TrainingError
from chargen.files import atomic_path, check_space
from chargen.model.weights import SHA_ATTR, VOCAB_ATTR, h5_digest, text_sha256, verify_h5

FORMAT = "chargen-checkpoint"
VERSION = 1
# Config fields a resume may change; every other difference means another model.
RESUMABLE_CHANGES = frozenset(
    {
        "epochs",
        "max_steps",
        "max_time",
        "lr_schedule",
        "checkpoint_every",
        "eval_every",
        "early_stopping",
        "deterministic",
        "cpu_shards",
    }
)


def save_checkpoint(
    path: Path, model: Any, position: dict[str, Any], *, config_json: str, vocab_json: str
) -> None:
    """Model variables, optimizer variables and `position` (epoch, step, RNG, history...)."""
    try:
        check_space(path, variables_nbytes(_all_variables(model)))
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as h5:
                h5.attrs["format"] = FORMAT
                h5.attrs["version"] = VERSION
                h5.attrs["chargen_version"] = __version__
                h5.attrs["config"] = config_json
                h5.attrs["vocab"] = vocab_json
                h5.attrs["position"] = json.dumps(position)
                for group, variables in (
                    ("model", model.variables),
                    ("optimizer", model.optimizer.variables),
                    ("states", recurrent_states(model)),
                ):
                    g = h5.create_group(group)
                    g.attrs["count"] = len(variables)
                    for i, var in enumerate(variables):
                        ds = g.create_dataset(f"{i:05d}", data=np.asarray(var.numpy()))
                        ds.attrs["path"] = str(getattr(var, "path", var.name))
                h5.attrs[SHA_ATTR] = h5_digest(h5)
                h5.attrs[VOCAB_ATTR] = text_sha256(vocab_json)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TrainingError(
            f"cannot write checkpoint {path}: {reason}; "
            + ("the previous checkpoint is kept" if path.is_file() else "there is none yet")
        ) from exc


def _all_variables(model: Any) -> list[Any]:
    return [*model.variables, *model.optimizer.variables, *recurrent_states(model)]


def variables_nbytes(variables: list[Any]) -> int:
    """Bytes the variables take, from their shapes: nothing is copied out to size them."""
    return sum(
        math.prod(v.shape) * np.dtype(getattr(v.dtype, "as_numpy_dtype", v.dtype)).itemsize
        for v in variables
    )


def recurrent_states(model: Any) -> list[Any]:
    """A stateful model's carried LSTM/GRU states: Keras keeps them outside `model.variables`,
    and a run stopped inside an epoch must resume from them, not from zeros."""
    from chargen.model.build import recurrent_layers

    return [v for layer in recurrent_layers(model) if layer.stateful for v in layer.states or []]


def saved_position(path: Path) -> dict[str, Any] | None:
    """The training position a checkpoint records, read without building the model; None when
    there is none to read (load_checkpoint then reports what is wrong with it)."""
    try:
        with h5py.File(path, "r") as h5:
            return dict(json.loads(str(h5.attrs["position"])))
    except (OSError, KeyError, ValueError, TypeError):
        return None


def load_checkpoint(
    path: Path, model: Any, *, config: dict[str, Any], vocab_json: str
) -> dict[str, Any]:
    """Restore variables into a built, compiled `model`; return the saved position."""
    verify_h5(path)
    with h5py.File(path, "r") as h5:
        attrs = dict(h5.attrs)
        if attrs.get("format") != FORMAT:
            raise RunError(f"{path} is not a chargen checkpoint")
        if attrs.get("version") != VERSION:
            raise RunError(
                f"{path} has checkpoint version {attrs.get('version')} (chargen "
                f"{attrs.get('chargen_version')}), this chargen reads version {VERSION}"
            )
        if SHA_ATTR not in attrs:
            raise RunError(f"{path} is damaged: it has no checksum")
        if str(attrs.get("vocab")) != vocab_json:
            raise RunError(f"{path} belongs to another vocabulary than this run's vocab.json")
        _check_config(path, json.loads(str(attrs["config"])), config)
        model.optimizer.build(model.trainable_variables)
        groups = [("model", model.variables), ("optimizer", model.optimizer.variables)]
        if "states" in h5:  # older checkpoints have none: the state then restarts from zero
            groups.append(("states", recurrent_states(model)))
        for group, variables in groups:
            g = h5[group]
            if int(g.attrs["count"]) != len(variables):
                raise RunError(f"{path} does not match this model ({group} variables differ)")
            for i, var in enumerate(variables):
                data = g[f"{i:05d}"][()]
                if tuple(data.shape) != tuple(var.shape):
                    raise RunError(f"{path} does not match this model (shape of {var.path})")
                var.assign(data)
        return dict(json.loads(str(attrs["position"])))


def _check_config(path: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    for key in sorted(set(saved) | set(current)):
        if key in RESUMABLE_CHANGES:
            continue
        if saved.get(key) != current.get(key):
            raise RunError(
                f"{path} was written with {key}={saved.get(key)!r}, the run now has "
                f"{current.get(key)!r}; only {', '.join(sorted(RESUMABLE_CHANGES))} may change"
            )
