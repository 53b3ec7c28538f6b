"""The epoch loop: fit segments, evaluations, checkpoints and budgets, driven by `Progress`.

Each epoch is one `fit` over a dataset that skips the batches a resumed epoch already trained;
a step callback keeps `Progress` current and fires evaluations and checkpoints. The checkpoint
is written before anything else that depends on the position, so it alone decides a resume.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chargen.checkpoint import save_checkpoint, stamp_h5
from chargen.config import Config
from chargen.controls import Progress, StopSignal, step_callback
from chargen.dataset import Prepared, count_windows, make_dataset, steps_per_epoch
from chargen.errors import RunError, TrainingError
from chargen.evaluate import make_scorer, split_loss
from chargen.files import atomic_path
from chargen.runs import RunDir

log = logging.getLogger("chargen.train")
LN2 = math.log(2.0)


class Loop:
    """One object holding what the epoch loop and its step callback share."""

    def __init__(
        self,
        config: Config,
        prepared: Prepared,
        run: RunDir,
        model: Any,
        progress: Progress,
        stop: StopSignal,
        on_row: Callable[[dict[str, Any]], None],
    ) -> None:
        self.config, self.prepared, self.run, self.model = config, prepared, run, model
        self.progress, self.stop, self.on_row = progress, stop, on_row
        self.started = time.monotonic()
        self.segment_start = time.perf_counter()
        self.base_seconds = 0.0
        steps = steps_per_epoch(prepared.sizes["train"], config.seq_len, config.batch_size)
        self.steps = min(steps, config.steps_per_epoch or steps)
        self.batch = min(config.batch_size, count_windows(prepared.sizes["train"], config.seq_len))
        self.vocab_json = prepared.vocab.to_json()
        self.scorer = make_scorer(model)

    def stop_reason(self) -> str | None:
        c, p = self.config, self.progress
        if self.stop.signum is not None:
            return "signal"
        if c.max_steps is not None and p.global_step >= c.max_steps:
            return "max_steps"
        if c.max_time is not None and time.monotonic() - self.started >= c.max_time:
            return "max_time"
        return None

    def loop(self, seed: int) -> str | None:
        """Train to the end or a stop; the reason it stopped early, if it did."""
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
                # Evaluate, then advance, then checkpoint: a resume never re-scores an epoch.
                row = self.evaluate()
                p.epoch, p.step_in_epoch, p.loss_sum, p.loss_count = p.epoch + 1, 0, 0.0, 0
                p.epoch_seconds = self.base_seconds = 0.0
                self.segment_start = time.perf_counter()
                self.save(last=True)
                self.on_row(row)
            else:
                self.save(last=True)  # stopped inside the epoch: signal, budget, early stop
        return reason or p.stopped

    def seconds(self) -> float:
        return self.base_seconds + time.perf_counter() - self.segment_start

    def event(self, kind: str) -> None:
        if self.progress.step_in_epoch >= self.steps:
            return  # the epoch end evaluates and checkpoints anyway
        row = self.evaluate() if kind == "eval" else None
        self.save(last=False)
        if row is not None:
            self.on_row(row)

    def evaluate(self) -> dict[str, Any]:
        """Score the val split and append a metrics row; the caller checkpoints, then reports."""
        c, p = self.config, self.progress
        seconds = self.seconds()
        val = split_loss(self.scorer, self.prepared.path, "val", c.seq_len, c.batch_size)
        improved = p.record_eval(val, c)
        chars = p.loss_count * self.batch * c.seq_len
        row = {
            "epoch": p.epoch + 1,
            "train_loss": p.loss_sum / max(1, p.loss_count),
            "val_loss": val,
            "val_bpc": val / LN2,
            "chars_per_s": chars / seconds if seconds > 0 else 0.0,
            "seconds": seconds,
            "step": p.global_step,
            "learning_rate": float(self.model.optimizer.learning_rate),
        }
        p.history.append(row)
        if improved:
            self.save_weights(self.run.best_weights)
        log.info(
            "epoch %d step %d: train_loss %.4f val_loss %.4f val_bpc %.4f %.0f chars/s %.1fs",
            *(row[k] for k in ("epoch", "step", "train_loss", "val_loss", "val_bpc")),
            row["chars_per_s"],
            row["seconds"],
        )
        return row

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
