"""Training: fit epoch by epoch on tf.data windows, keeping best/last weights and metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chargen.config import Config
from chargen.data.prepared import Prepared, check_fits
from chargen.errors import ConfigError, RunError, TrainingError, UsageProblem
from chargen.files import remove_stale_temporaries
from chargen.runs.lock import run_lock
from chargen.runs.rundir import (
    EpochStats,
    RunDir,
    check_resumable,
    read_meta,
    write_metrics,
    write_run_config,
    write_run_header,
)
from chargen.runtime import jit_mode
from chargen.train.checkpoint import load_checkpoint
from chargen.train.controls import Progress, StopSignal
from chargen.train.hooks import Hooks, TensorBoardWriter
from chargen.train.loop import Loop
from chargen.train.report import BatchProgress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    run: RunDir
    history: list[EpochStats]
    stopped: str | None = None  # signal, max_steps, max_time, early_stopping; None: all epochs
    signum: int | None = None

    @property
    def best(self) -> EpochStats | None:
        return min(self.history, key=lambda s: s.val_loss) if self.history else None


def config_for_data(config: Config, prepared: Prepared, given: Mapping[str, Any]) -> Config:
    """Config keys that describe the prepared data are taken from it, so config.json is true.

    A flag that contradicts the prepared file (`--lowercase` on a cased file) is an error,
    not silently ignored.
    """
    norm = json.loads(str(prepared.attrs.get("normalisation", "{}")))
    actual = {
        "lowercase": bool(norm.get("lowercase", False)),
        "val_fraction": float(prepared.attrs.get("val_fraction", config.val_fraction)),
    }
    for key, value in actual.items():
        if given.get(key) is not None and given[key] != value:
            raise ConfigError(
                f"--{key.replace('_', '-')} {given[key]} contradicts {prepared.path} "
                f"({key} = {value}); prepare the corpus again or use --corpus"
            )
    return config.replace(**actual)


def resumed_precision(run: RunDir, requested: str | None) -> str | None:
    """The compute dtype a resumed run continues in: the one it started with (run.json).

    float16 training keeps its optimizer inside a loss-scaling wrapper with other variables
    than plain Adam's, so a checkpoint only loads into a model built with the same precision.
    Runs recorded before this was written down take what is asked for.
    """
    meta = read_meta(run)
    if "mixed_precision" not in meta:
        return requested
    saved = meta["mixed_precision"]
    if requested is not None and requested != saved:
        raise UsageProblem(
            f"--mixed-precision cannot change when resuming (the run has {saved or 'float32'})"
        )
    return saved


def train(
    config: Config,
    prepared: Prepared,
    run: RunDir,
    *,
    on_epoch: Callable[[EpochStats], None] | None = None,
    resume: bool = False,
    on_batch: Callable[[BatchProgress], None] | None = None,
    tensorboard: bool = False,
    sample_every: int = 0,
    distribute: str | None = None,
    mixed_precision: str | None = None,
) -> TrainResult:
    """Train from `config` on `prepared` into `run`; with `resume`, continue from its checkpoint.

    The run directory is locked for the whole call. SIGINT/SIGTERM finish the current step,
    write a checkpoint and return with `stopped="signal"`; so do the step and time budgets.
    `on_batch` receives progress after every batch; `tensorboard` writes scalars to
    run/tensorboard; `sample_every` N logs samples at a few temperatures every N epochs.
    `distribute` (mirrored, multi-worker) splits each global batch of `config.batch_size`
    across replicas; `mixed_precision` (float16, bfloat16) sets the compute dtype.
    """
    check_fits(prepared, config.seq_len)
    if resume:
        mixed_precision = resumed_precision(run, mixed_precision)
    seed = _seed_process(config, prepared)
    stop = StopSignal()
    with run_lock(run.path), stop.installed():
        remove_stale_temporaries(run.path)
        _write_start(run, config, prepared, resume=resume, mixed_precision=mixed_precision)
        handler = _attach_log(run)
        try:
            return _fit(
                config,
                prepared,
                run,
                stop,
                seed=seed,
                resume=resume,
                on_epoch=on_epoch,
                make_hooks=lambda: Hooks(
                    on_batch=on_batch,
                    board=TensorBoardWriter(run.path) if tensorboard else None,
                    sample_every=sample_every,
                ),
                distribute=distribute,
                mixed_precision=mixed_precision,
            )
        finally:
            logging.getLogger("chargen").removeHandler(handler)
            handler.close()


def _seed_process(config: Config, prepared: Prepared) -> int:
    """The run's seed, set for Keras (and op determinism when asked) before anything is built;
    a stateful run's streams checked first, as they need no TensorFlow."""
    import keras

    if config.stateful:
        from chargen.data.streams import check_streams

        check_streams(prepared.sizes["train"], config.seq_len, config.batch_size)
    seed = config.rng_seed if config.rng_seed is not None else 0
    if config.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    return seed


def _write_start(
    run: RunDir, config: Config, prepared: Prepared, *, resume: bool, mixed_precision: str | None
) -> None:
    """config.json (and, for a new run, run.json) before the first step, under the lock."""
    try:
        if resume:
            check_resumable(run, prepared)
            write_run_config(run, config)
        else:
            write_run_header(run, config, prepared, mixed_precision=mixed_precision)
    except OSError as exc:
        raise RunError(f"cannot write to run directory {run.path}: {exc.strerror}") from exc


def _fit(
    config: Config,
    prepared: Prepared,
    run: RunDir,
    stop: StopSignal,
    *,
    seed: int,
    resume: bool,
    on_epoch: Callable[[EpochStats], None] | None,
    make_hooks: Callable[[], Hooks],
    distribute: str | None,
    mixed_precision: str | None,
) -> TrainResult:
    """Build (or restore) the model and run the loop to its end or its stop."""
    from chargen.runtime import make_strategy

    strategy = make_strategy(distribute)
    model = _build(config, len(prepared.vocab), strategy, mixed_precision)
    progress = _restore(config, prepared, run, model, strategy) if resume else Progress()
    write_metrics(run, [EpochStats(**r) for r in progress.history])

    def on_row(row: dict[str, Any]) -> None:
        try:
            write_metrics(run, [EpochStats(**r) for r in progress.history])
        except OSError as exc:
            raise TrainingError(
                f"cannot write {run.metrics}: {exc.strerror or exc}; "
                f"the checkpoint holds every row, --resume rewrites it"
            ) from exc
        if on_epoch is not None:
            on_epoch(EpochStats(**row))

    loop = Loop(config, prepared, run, model, progress, stop, on_row)
    reason = loop.loop(seed, hooks=make_hooks())
    history = [EpochStats(**r) for r in progress.history]
    if reason is None and stop.signum is not None:
        reason = "signal"  # it came during the last checkpoint: saved, and honoured
    return TrainResult(run, history, stopped=reason, signum=stop.signum)


def _build(config: Config, vocab_size: int, strategy: Any, mixed_precision: str | None) -> Any:
    """The compiled model, its variables on the strategy's replicas."""
    from chargen.model.build import build_model, compile_model, model_kwargs
    from chargen.runtime import precision, resolve_shards

    with precision(mixed_precision), strategy.scope():
        model = build_model(
            **model_kwargs(config, vocab_size),
            stateful_batch=config.batch_size if config.stateful else None,
        )
        compile_model(
            model,
            learning_rate=config.learning_rate,
            clip_norm=config.clip_norm,
            # Keras runs no XLA under op determinism (and warns if asked to)
            jit_compile=jit_mode(config.jit_compile and not config.deterministic),
            shards=resolve_shards(config.cpu_shards, config.batch_size),
            optimizer=config.optimizer,
            beta_2=config.beta_2,
            weight_decay=config.weight_decay,
        )
    return model


def _restore(
    config: Config, prepared: Prepared, run: RunDir, model: Any, strategy: Any
) -> Progress:
    """A resumed run's variables and position from its checkpoint; a run stopped before its
    first checkpoint starts from the beginning."""
    if not run.checkpoint.is_file():
        log.info("no checkpoint in %s yet: starting from the beginning", run.path)
        return Progress()
    with strategy.scope():  # the optimizer builds its variables on the replicas
        position = load_checkpoint(
            run.checkpoint, model, config=config.to_dict(), vocab_json=prepared.vocab.to_json()
        )
    progress = Progress.from_dict(position)
    log.info(
        "resuming at epoch %d, step %d of the epoch (step %d overall)",
        progress.epoch + 1,
        progress.step_in_epoch,
        progress.global_step,
    )
    return progress


def _attach_log(run: RunDir) -> logging.Handler:
    handler = logging.FileHandler(run.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("chargen")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
