"""What a `train` call asks for, turned into what training needs: config, data, run directory.

The CLI parses flags into a `TrainRequest`; `plan_training` checks it, prepares or opens the
data, creates (or reopens) the run directory and resolves the config before anything trains,
so bad input fails with nothing written. Resuming a run that has nothing left to do is an
answer (`Finished`), not an error: a scheduler re-runs the same command after a preemption
whether or not the previous attempt got to the end.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chargen.config import Config, load_config
from chargen.data.prepare import PrepareResult, prepare_corpus
from chargen.data.prepared import Prepared, check_fits, open_prepared, verify_ids
from chargen.data.vocab import Vocab
from chargen.errors import UsageProblem
from chargen.runs.lock import check_unlocked
from chargen.runs.rundir import (
    EpochStats,
    RunDir,
    corpus_stem,
    create_run_dir,
    prepared_path,
    read_run_config,
    resolve_run,
)
from chargen.text.clean import CleanOptions
from chargen.train.checkpoint import RESUMABLE_CHANGES, saved_position
from chargen.train.controls import Progress
from chargen.train.run import config_for_data, resumed_precision

Corpus = str | tuple[str, ...] | None


@dataclass(frozen=True)
class TrainRequest:
    """One `chargen train` call. `config_flags` and `clean_flags` hold only what was typed:
    config keys, and CleanOptions fields other than lowercase (a config key)."""

    corpus: Corpus = None
    data: Path | None = None
    config_name: str | None = None
    run_dir: Path | None = None
    resume: str | None = None  # a run directory, or "latest"
    config_flags: Mapping[str, Any] = field(default_factory=dict)
    clean_flags: Mapping[str, Any] = field(default_factory=dict)
    data_dir: Path = Path("data")
    runs_dir: Path = Path("runs")
    mirror: str | None = None
    distribute: str | None = None
    mixed_precision: str | None = None


@dataclass(frozen=True)
class TrainPlan:
    """Everything `train.run.train` needs, checked."""

    config: Config
    prepared: Prepared
    run: RunDir
    resume: bool
    mixed_precision: str | None


@dataclass(frozen=True)
class Finished:
    """A resumed run with nothing left to do: its epochs are done, it stopped early, or it
    reached --max-steps."""

    run: RunDir
    epochs: int
    reason: str  # epochs, early_stopping, max_steps
    history: list[EpochStats]

    def message(self) -> str:
        epochs = f"{self.epochs} epoch{'s' * (self.epochs != 1)}"
        how = {
            "early_stopping": " (stopped early: validation loss no longer improved)",
            "max_steps": " (reached --max-steps; raise it to train on)",
            "epochs": " (raise --epochs to train on)",
        }.get(self.reason, "")
        return f"run {self.run.path} already finished {epochs}; nothing to do{how}"


def flag_names(fields: Mapping[str, Any]) -> str:
    """`--ascii, --no-strip`: typed CleanOptions fields and config keys, spelled as flags."""
    names = {"strip": "no-strip"}
    return ", ".join("--" + names.get(k, k.replace("_", "-")) for k in fields)


def plan_training(
    request: TrainRequest, on_prepared: Callable[[PrepareResult], None] | None = None
) -> TrainPlan | Finished:
    """Check the request and get everything ready; `on_prepared` sees a freshly prepared
    corpus before any run directory exists (the CLI prints its summary)."""
    if request.resume is not None:
        return _plan_resume(request)
    return _plan_fresh(request, on_prepared)


def _plan_fresh(
    request: TrainRequest, on_prepared: Callable[[PrepareResult], None] | None
) -> TrainPlan:
    from chargen.runtime import check_distribute

    r, flags = request, dict(request.config_flags)
    if (r.corpus is None) == (r.data is None):
        raise UsageProblem("give exactly one of --corpus and --data")
    check_distribute(r.distribute)  # TF_CONFIG: before anything is prepared or created
    if r.data is not None and r.clean_flags:
        raise UsageProblem(
            f"{flag_names(r.clean_flags)}: cleaning options apply to --corpus, not --data"
        )
    if r.run_dir is not None and r.run_dir.is_dir():
        check_unlocked(r.run_dir)
    config = load_config(r.config_name)
    if "units" in flags or "layers" in flags:
        config = dataclasses.replace(config, layer_units=None)  # typed sizes beat the preset's
    config = config.replace(**flags)
    if config.rng_seed is None:
        config = config.replace(rng_seed=secrets.randbelow(2**31))
    if r.corpus is not None:
        options = CleanOptions(**{**r.clean_flags, "lowercase": config.lowercase})
        result = prepare_corpus(
            r.corpus,
            options,
            val_fraction=config.val_fraction,
            data_dir=r.data_dir,
            mirror=r.mirror,
            seq_len=config.seq_len,
        )
        if on_prepared is not None:
            on_prepared(result)
        prepared = result.prepared
    else:
        assert r.data is not None
        prepared = open_prepared(r.data)
        verify_ids(r.data)  # a damaged file fails before a run directory exists
        config = config_for_data(config, prepared, flags)
    check_fits(prepared, config.seq_len)  # before anything is written
    run = create_run_dir(r.runs_dir, r.run_dir, corpus_stem(r.corpus, r.data))
    return TrainPlan(config, prepared, run, False, r.mixed_precision)


def _plan_resume(request: TrainRequest) -> TrainPlan | Finished:
    from chargen.generation.load import seed_options

    r = request
    if r.clean_flags:
        raise UsageProblem(
            f"{flag_names(r.clean_flags)}: a resumed run keeps the cleaning options it was "
            "prepared with"
        )
    if r.config_name is not None or r.run_dir is not None or (r.corpus and r.data):
        raise UsageProblem("--resume takes the run's own config; drop --config and --run-dir")
    assert r.resume is not None
    run = resolve_run(None if r.resume == "latest" else Path(r.resume), r.runs_dir)
    check_unlocked(run.path)
    saved = read_run_config(run)
    for key, value in r.config_flags.items():
        if key not in RESUMABLE_CHANGES and value != getattr(saved, key):
            raise UsageProblem(
                f"--{key.replace('_', '-')} cannot change when resuming "
                f"(the run has {getattr(saved, key)!r})"
            )
    config = saved.replace(**{k: v for k, v in r.config_flags.items() if k in RESUMABLE_CHANGES})
    precision = resumed_precision(run, r.mixed_precision)
    finished = _finished(run, config)
    if finished is not None:
        return finished
    if r.corpus is not None:
        options = seed_options(Vocab.load(run.vocab))  # the run's own cleaning options
        prepared = prepare_corpus(
            r.corpus,
            options,
            val_fraction=config.val_fraction,
            data_dir=r.data_dir,
            mirror=r.mirror,
        ).prepared
    else:
        prepared = open_prepared(r.data if r.data is not None else prepared_path(run))
        verify_ids(prepared.path)
    return TrainPlan(config, prepared, run, True, precision)


def _finished(run: RunDir, config: Config) -> Finished | None:
    """The run's checkpoint says there is nothing left to train under `config`."""
    position = saved_position(run.checkpoint)
    if position is None:
        return None
    p = Progress.from_dict(position)
    reason = p.finished(config.epochs, config.max_steps)
    if reason is None:
        return None
    history = [EpochStats(**row) for row in p.history]
    return Finished(run, p.epoch, reason, history)
