"""Training: fit epoch by epoch on tf.data windows, keeping best/last weights and metrics."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from chargen import __version__
from chargen.checkpoint import load_checkpoint, save_checkpoint, stamp_h5
from chargen.config import Config
from chargen.controls import Progress, StopSignal, step_callback
from chargen.dataset import Prepared, check_fits, count_windows, make_dataset, steps_per_epoch
from chargen.errors import ConfigError, RunError, TrainingError
from chargen.files import atomic_path, write_text_atomic
from chargen.lock import run_lock
from chargen.runs import RunDir

log = logging.getLogger(__name__)
LN2 = math.log(2.0)


@dataclass(frozen=True)
class EpochStats:
    """One row of metrics.csv: losses in nats per character, bits per character, speed."""

    epoch: int
    train_loss: float
    val_loss: float
    val_bpc: float
    chars_per_s: float  # timing column: differs between identical runs
    seconds: float  # timing column: training seconds of the epoch so far
    step: int = 0  # optimizer steps so far (unique per row; rows also come every --eval-every)
    learning_rate: float = 0.0


METRIC_FIELDS = [f.name for f in fields(EpochStats)]


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


def write_run_header(run: RunDir, config: Config, prepared: Prepared) -> None:
    """Everything sampling needs besides weights: resolved config, vocabulary, provenance."""
    write_text_atomic(run.config, config.to_json())
    prepared.vocab.save(run.vocab)
    meta = {
        "chargen_version": __version__,
        "prepared": str(prepared.path),
        "source_sha256": prepared.sha256,
        "sources": json.loads(str(prepared.attrs.get("sources", "[]"))),
        "sizes": prepared.sizes,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_text_atomic(run.meta, json.dumps(meta, indent=2) + "\n")


def write_metrics(run: RunDir, history: list[EpochStats]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(v) for k, v in asdict(row).items()})
    write_text_atomic(run.metrics, buf.getvalue())


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def train(
    config: Config,
    prepared: Prepared,
    run: RunDir,
    *,
    on_epoch: Callable[[EpochStats], None] | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train from `config` on `prepared` into `run`; with `resume`, continue from its checkpoint.

    The run directory is locked for the whole call. SIGINT/SIGTERM finish the current step,
    write a checkpoint and return with `stopped="signal"`; so do the step and time budgets.
    """
    import keras

    from chargen.model import build_model, compile_model

    check_fits(prepared, config.seq_len)
    seed = config.rng_seed if config.rng_seed is not None else 0
    if config.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    stop = StopSignal()
    with run_lock(run.path), stop.installed():
        if resume:
            _check_resumable(run, prepared)
            write_text_atomic(run.config, config.to_json())
        else:
            write_run_header(run, config, prepared)
        handler = _attach_log(run)
        try:
            model = build_model(
                vocab_size=len(prepared.vocab),
                embedding_dim=config.embedding_dim,
                units=config.units,
                layers=config.layers,
                dropout=config.dropout,
            )
            compile_model(model, learning_rate=config.learning_rate, clip_norm=config.clip_norm)
            progress = Progress()
            if resume and run.checkpoint.is_file():
                position = load_checkpoint(
                    run.checkpoint,
                    model,
                    config=config.to_dict(),
                    vocab_json=prepared.vocab.to_json(),
                )
                progress = Progress.from_dict(position)
                log.info(
                    "resuming at epoch %d, step %d of the epoch (step %d overall)",
                    progress.epoch + 1,
                    progress.step_in_epoch,
                    progress.global_step,
                )
            elif resume:
                log.info("no checkpoint in %s yet: starting from the beginning", run.path)
            write_metrics(run, [EpochStats(**r) for r in progress.history])
            loop = _Loop(config, prepared, run, model, progress, stop, on_epoch)
            return loop.loop(seed)
        finally:
            logging.getLogger("chargen").removeHandler(handler)
            handler.close()


def _check_resumable(run: RunDir, prepared: Prepared) -> None:
    """The data must be the data the run started on; its vocabulary the run's vocabulary."""
    try:
        meta = json.loads(run.meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {run.meta}: the run directory is damaged") from exc
    if not isinstance(meta, dict) or meta.get("chargen_version", "").split(".")[:1] != ["0"]:
        raise RunError(f"{run.path} was written by an incompatible chargen version")
    if meta.get("source_sha256") != prepared.sha256:
        raise RunError(f"{prepared.path} holds other text than the run {run.path} was trained on")
    from chargen.vocab import Vocab

    if Vocab.load(run.vocab) != prepared.vocab:
        raise RunError(f"{run.vocab} does not match the vocabulary of {prepared.path}")


class _Loop:
    """One object holding what the epoch loop and its step callback share."""

    def __init__(
        self,
        config: Config,
        prepared: Prepared,
        run: RunDir,
        model: Any,
        progress: Progress,
        stop: StopSignal,
        on_epoch: Callable[[EpochStats], None] | None,
    ) -> None:
        self.config, self.prepared, self.run, self.model = config, prepared, run, model
        self.progress, self.stop, self.on_epoch = progress, stop, on_epoch
        self.started = time.monotonic()
        self.segment_start = time.perf_counter()
        self.base_seconds = 0.0
        steps = steps_per_epoch(prepared.sizes["train"], config.seq_len, config.batch_size)
        self.steps = min(steps, config.steps_per_epoch or steps)
        self.batch = min(config.batch_size, count_windows(prepared.sizes["train"], config.seq_len))
        self.vocab_json = prepared.vocab.to_json()

    def stop_reason(self) -> str | None:
        c, p = self.config, self.progress
        if self.stop.signum is not None:
            return "signal"
        if c.max_steps is not None and p.global_step >= c.max_steps:
            return "max_steps"
        if c.max_time is not None and time.monotonic() - self.started >= c.max_time:
            return "max_time"
        return None

    def loop(self, seed: int) -> TrainResult:
        c, p = self.config, self.progress
        if p.stopped or p.epoch >= c.epochs:
            raise RunError(
                f"run {self.run.path} already finished ({p.stopped or f'{p.epoch} epochs'}); "
                f"raise --epochs to train on"
            )
        log.info(
            "training %s parameters, %d steps per epoch of %d x %d characters",
            f"{self.model.count_params():,}",
            self.steps,
            c.batch_size,
            c.seq_len,
        )
        reason = None
        while p.epoch < c.epochs and not p.stopped:
            reason = self.stop_reason()
            if reason is not None:
                break
            skip = p.step_in_epoch
            self.base_seconds = p.epoch_seconds
            if skip < self.steps:
                ds = make_dataset(
                    self.prepared.path,
                    "train",
                    c.seq_len,
                    c.batch_size,
                    shuffle=True,
                    seed=seed,
                    epoch=p.epoch,
                    skip=skip,
                ).take(self.steps - skip)
                callback = step_callback(
                    config=c,
                    progress=p,
                    base_sum=p.loss_sum,
                    base_count=p.loss_count,
                    stop_after=self.stop_reason,
                    on_event=self.event,
                )
                self.segment_start = time.perf_counter()
                self.model.fit(ds, epochs=1, shuffle=False, verbose=0, callbacks=[callback])
            if p.step_in_epoch >= self.steps:
                self.evaluate()
                p.epoch, p.step_in_epoch, p.loss_sum, p.loss_count = p.epoch + 1, 0, 0.0, 0
                p.epoch_seconds = self.base_seconds = 0.0
                self.segment_start = time.perf_counter()
                self.save(last=True)
            else:
                self.save(last=False)
        reason = self.stop_reason() if reason is None and p.epoch < c.epochs else reason
        if reason is not None:
            self.save(last=True)
        history = [EpochStats(**r) for r in p.history]
        return TrainResult(self.run, history, stopped=reason or p.stopped, signum=self.stop.signum)

    def seconds(self) -> float:
        return self.base_seconds + time.perf_counter() - self.segment_start

    def event(self, kind: str) -> None:
        if self.progress.step_in_epoch >= self.steps:
            return  # the epoch end evaluates and checkpoints anyway
        if kind == "eval":
            self.evaluate()
        self.save(last=False)

    def evaluate(self) -> None:
        from chargen.evaluate import split_loss

        c, p = self.config, self.progress
        seconds = self.seconds()
        val = split_loss(self.model, self.prepared.path, "val", c.seq_len, c.batch_size)
        improved = p.record_eval(val, c)
        chars = p.loss_count * self.batch * c.seq_len
        stats = EpochStats(
            epoch=p.epoch + 1,
            train_loss=p.loss_sum / max(1, p.loss_count),
            val_loss=val,
            val_bpc=val / LN2,
            chars_per_s=chars / seconds if seconds > 0 else 0.0,
            seconds=seconds,
            step=p.global_step,
            learning_rate=float(self.model.optimizer.learning_rate),
        )
        p.history.append(asdict(stats))
        if improved:
            self.save_weights(self.run.best_weights)
        self.save(last=False)
        write_metrics(self.run, [EpochStats(**r) for r in p.history])
        log.info(
            "epoch %d step %d: train_loss %.4f val_loss %.4f val_bpc %.4f %.0f chars/s %.1fs",
            stats.epoch,
            stats.step,
            stats.train_loss,
            stats.val_loss,
            stats.val_bpc,
            stats.chars_per_s,
            stats.seconds,
        )
        if self.on_epoch is not None:
            self.on_epoch(stats)

    def save_weights(self, path: Path) -> None:
        try:
            with atomic_path(path) as tmp:
                self.model.save_weights(tmp)
                stamp_h5(tmp, vocab_json=self.vocab_json)
        except OSError as exc:
            raise TrainingError(
                f"cannot write {path}: {exc.strerror or exc}; the previous file is kept"
            ) from exc

    def save(self, *, last: bool) -> None:
        """Checkpoint first: it alone decides where a resume starts."""
        if self.progress.step_in_epoch:
            self.progress.epoch_seconds = self.seconds()
        save_checkpoint(
            self.run.checkpoint,
            self.model,
            self.progress.to_dict(),
            config_json=self.config.to_json(),
            vocab_json=self.vocab_json,
        )
        if last:
            self.save_weights(self.run.last_weights)


def _attach_log(run: RunDir) -> logging.Handler:
    handler = logging.FileHandler(run.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("chargen")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
