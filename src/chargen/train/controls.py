"""Training position, learning-rate schedule, budgets and signals: what a checkpoint must restore.

`Progress` is the whole resumable state besides variables: epoch and step within it, the
running train loss of the epoch, early-stopping and plateau counters, the metrics rows so far.
Data order needs no RNG state: batches are a pure function of (rng_seed, epoch, skip).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from chargen.config import Config
from chargen.errors import ConfigError, RunError


@dataclass
class Progress:
    epoch: int = 0  # epoch in progress (0-based); == epochs when training is complete
    step_in_epoch: int = 0  # batches already trained in that epoch
    global_step: int = 0
    loss_sum: float = 0.0  # train loss summed over the epoch's batches so far
    loss_count: int = 0
    best_val: float = math.inf  # best of the rows that drive early stopping and plateaus
    best_saved: float = math.inf  # val loss of best.weights.h5: budget-end rows count too
    bad_evals: int = 0  # evaluations since best_val improved (early stopping)
    plateau_evals: int = 0  # evaluations since the last improvement or LR cut
    lr_scale: float = 1.0  # product of plateau cuts
    stopped: str | None = None  # "early_stopping" once it fired
    epoch_seconds: float = 0.0  # training seconds of the epoch so far (a timing figure)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        known.setdefault("best_saved", known.get("best_val", math.inf))  # older checkpoints
        return cls(**known)

    def finished(self, epochs: int, max_steps: int | None = None) -> str | None:
        """Why there is nothing left to train (epochs, early_stopping, max_steps), or None."""
        if self.stopped:
            return self.stopped
        if self.epoch >= epochs:
            return "epochs"
        if max_steps is not None and self.global_step >= max_steps:
            return "max_steps"
        return None

    def check_unfinished(self, run_path: Any, epochs: int) -> None:
        """Refuse to train a run that has nothing left to do, and say how to go on."""
        if self.stopped or self.epoch >= epochs:
            raise RunError(
                f"run {run_path} already finished ({self.stopped or f'{self.epoch} epochs'}); "
                f"raise --epochs to train on"
            )

    def record_eval(self, val_loss: float, config: Config) -> bool:
        """Update best, early-stopping and plateau counters; True when val loss improved."""
        if val_loss < self.best_val:
            self.best_val, self.bad_evals, self.plateau_evals = val_loss, 0, 0
            return True
        self.bad_evals += 1
        self.plateau_evals += 1
        if config.lr_plateau_patience and self.plateau_evals >= config.lr_plateau_patience:
            self.lr_scale *= config.lr_plateau_factor
            self.plateau_evals = 0
        if config.early_stopping and self.bad_evals >= config.early_stopping:
            self.stopped = "early_stopping"
        return False


def parse_duration(text: str) -> float:
    """Seconds from `3600`, `90s`, `90m` or `2h` (for --max-time)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value = text.strip().lower()
    scale = units.get(value[-1:], None)
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise ConfigError(f"max_time must be seconds or 90m / 2h, got {text!r}") from None
    if not 0 < seconds < math.inf:
        raise ConfigError(f"max_time must be a positive number of seconds, got {text!r}")
    return seconds


# where `cosine` ends, as a fraction of the base rate (nanoGPT's min_lr = lr / 10)
MIN_LR_RATIO = 0.1
# `anneal` holds the rate, then decays it linearly to ANNEAL_END_RATIO over this last share of
# the budget: a short budget needs time at the full rate and time to settle, and half to zero
# measured ahead of a fifth to a tenth and of a decay from the start (docs/performance.md,
# Schedules)
ANNEAL_FRACTION = 0.5
ANNEAL_END_RATIO = 0.0


def learning_rate(config: Config, progress: Progress, budget_used: float | None = None) -> float:
    """Base rate x plateau cuts x per-epoch decay x linear warm-up over the first steps, and,
    given `budget_used` (the fraction of the budget spent, for Config.budget_schedule), x the
    budget's factor: `cosine` from 1 down to MIN_LR_RATIO at the end, or `anneal` 1 until the
    last ANNEAL_FRACTION, then linearly down to ANNEAL_END_RATIO."""
    lr = config.learning_rate * progress.lr_scale * config.lr_decay**progress.epoch
    if config.warmup_steps:
        lr *= min(1.0, (progress.global_step + 1) / config.warmup_steps)
    schedule = config.budget_schedule
    if budget_used is not None and schedule is not None:
        used = min(max(budget_used, 0.0), 1.0)
        if schedule == "cosine":
            end, left = MIN_LR_RATIO, 0.5 * (1 + math.cos(math.pi * used))
        else:
            end, left = ANNEAL_END_RATIO, min(1.0, (1.0 - used) / ANNEAL_FRACTION)
        lr *= end + (1 - end) * left
    return lr


class StopSignal:
    """SIGINT/SIGTERM set a flag the training loop checks after each step; a second one aborts."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignal]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in saved:
            signal.signal(s, self._handle)
        try:
            yield self
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)


def current_lr(optimizer: Any) -> float:
    """The optimizer's learning rate as a float (also a MirroredVariable under tf.distribute)."""
    import keras

    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def step_callback(
    *,
    config: Config,
    progress: Progress,
    base_sum: float,
    base_count: int,
    stop_after: Callable[[], str | None],
    on_event: Callable[[str], None],
    budget_used: Callable[[], float | None] = lambda: None,
) -> Any:
    """A Keras callback that keeps `progress` current and fires checkpoint/eval/stop events."""
    import keras

    class StepControl(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            lr = learning_rate(config, progress, budget_used())
            opt = self.model.optimizer
            if current_lr(opt) != lr:
                opt.learning_rate.assign(lr)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            done = batch + 1
            progress.step_in_epoch += 1
            progress.global_step += 1
            progress.loss_count = base_count + done
            progress.loss_sum = base_sum + float(logs["loss"]) * done
            step = progress.global_step
            if config.eval_every and step % config.eval_every == 0:
                on_event("eval")
            elif config.checkpoint_every and step % config.checkpoint_every == 0:
                on_event("checkpoint")
            reason = stop_after()
            if reason is not None or progress.stopped:
                self.model.stop_training = True

    return StepControl()
