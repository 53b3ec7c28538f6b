"""The epoch loop: fit segments, evaluations, checkpoints and budgets, driven by `Progress`.

Each epoch is one `fit` over a dataset that skips the batches a resumed epoch already trained;
a step callback keeps `Progress` current and fires evaluations and checkpoints. The checkpoint
is written before anything else that depends on the position, so it alone decides a resume.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chargen.config import Config
from chargen.data.prepared import Prepared, count_windows
from chargen.data.streams import stream_layout
from chargen.data.windows import make_dataset, steps_per_epoch
from chargen.errors import TrainingError
from chargen.files import atomic_path, check_space
from chargen.model.score import LN2, make_scorer, split_loss
from chargen.model.weights import stamp_h5
from chargen.runs.rundir import RunDir
from chargen.runtime import shard
from chargen.train.checkpoint import save_checkpoint, variables_nbytes
from chargen.train.controls import Progress, StopSignal, current_lr, step_callback
from chargen.train.hooks import Hooks, batch_callback
from chargen.train.report import Tracker
from chargen.train.stateful import evaluate_stateful, run_stateful_epoch

log = logging.getLogger("chargen.train")


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
        if config.stateful:
            steps = stream_layout(prepared.sizes["train"], config.seq_len, config.batch_size)[1]
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

    def budget_used(self) -> float | None:
        """The fraction of the budget spent, for a budget schedule (Config.budget_schedule):
        of --max-time since this process started training, of --max-steps, the larger."""
        c = self.config
        if c.budget_schedule is None:
            return None
        used = [] if c.max_steps is None else [self.progress.global_step / c.max_steps]
        if c.max_time is not None:
            used.append((time.monotonic() - self.started) / c.max_time)
        return max(used)

    def loop(self, seed: int, hooks: Hooks | None = None) -> str | None:
        """Train to the end or a stop; the reason it stopped early, if it did."""
        try:
            return self._loop(seed, hooks or Hooks())
        finally:
            if hooks is not None and hooks.board is not None:
                hooks.board.close()

    def _loop(self, seed: int, hooks: Hooks) -> str | None:
        c, p = self.config, self.progress
        tracker = self._tracker(hooks)
        p.check_unfinished(self.run.path, c.epochs)
        log.info(
            "training %s parameters, %d steps per epoch of %d x %d characters",
            f"{self.model.count_params():,}",
            self.steps,
            self.batch,
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
                self.fit_segment(seed, skip, tracker)
            if p.step_in_epoch >= self.steps:
                self.end_epoch(hooks)
            else:
                self.end_inside_epoch()
        return reason or p.stopped

    def _tracker(self, hooks: Hooks) -> Tracker | None:
        """The progress tracker behind `hooks.on_batch`, when there is one."""
        if hooks.on_batch is None:
            return None
        c, p = self.config, self.progress
        return Tracker(
            hooks.on_batch,
            epochs=c.epochs,
            steps=self.steps,
            # a split shorter than a batch gives one smaller batch
            chars_per_step=self.batch * c.seq_len,
            steps_left=None if c.max_steps is None else c.max_steps - p.global_step,
            time_left=None if c.max_time is None else self.time_left,
        )

    def fit_segment(self, seed: int, skip: int, tracker: Tracker | None) -> None:
        """Train the rest of the current epoch, from its batch `skip`, until it ends or the
        step callback stops it."""
        c, p = self.config, self.progress
        callback = step_callback(
            config=c,
            progress=p,
            base_sum=p.loss_sum,
            base_count=p.loss_count,
            stop_after=self.stop_reason,
            on_event=self.event,
            budget_used=self.budget_used,
        )
        self.segment_start = time.perf_counter()
        if c.stateful:
            run_stateful_epoch(
                self.model,
                self.prepared.path,
                seq_len=c.seq_len,
                batch_size=c.batch_size,
                epoch=p.epoch,
                steps=self.steps,
                tracker=tracker,
                skip=skip,
                callbacks=[callback],
            )
            return
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
        callbacks = [callback]
        if tracker is not None:
            callbacks.append(batch_callback(tracker, p.epoch + 1, skip))
        self.model.fit(shard(ds), epochs=1, shuffle=False, verbose=0, callbacks=callbacks)

    def end_epoch(self, hooks: Hooks) -> None:
        """Evaluate, then advance, then checkpoint: a resume never re-scores an epoch."""
        p = self.progress
        row = self.evaluate()
        p.epoch, p.step_in_epoch, p.loss_sum, p.loss_count = p.epoch + 1, 0, 0.0, 0
        p.epoch_seconds = self.base_seconds = 0.0
        self.segment_start = time.perf_counter()
        self.save(last=True)
        self.on_row(row)
        hooks.observe(row, self.model, self.prepared)

    def end_inside_epoch(self) -> None:
        """Stopped inside an epoch (signal, budget, early stop): checkpoint. A budget also
        measures the weights it ends on, so the time spent since the last row is not lost:
        a partial row, and `best` when they are best. A signal saves at once instead."""
        p = self.progress
        measured = bool(p.history) and p.history[-1]["step"] == p.global_step
        budget = self.stop_reason() in ("max_steps", "max_time")
        row = None
        if budget and p.step_in_epoch and not measured:
            row = self.evaluate(control=False)
        self.save(last=True)
        if row is not None:
            self.on_row(row)

    def time_left(self) -> float:
        """Seconds of --max-time left (the progress line's ETA)."""
        assert self.config.max_time is not None
        return self.config.max_time - (time.monotonic() - self.started)

    def validation_loss(self) -> float:
        c = self.config
        if not c.stateful:
            return split_loss(self.scorer, self.prepared.path, "val", c.seq_len, c.batch_size)

        def twin(streams: int) -> Any:
            """A stateful copy for `streams` rows: the val split is shorter than the train one."""
            from chargen.model.build import build_model, model_kwargs

            other = build_model(**model_kwargs(c, len(self.prepared.vocab)), stateful_batch=streams)
            other.compile(loss=self.model.loss)
            other.set_weights(self.model.get_weights())
            return other

        return evaluate_stateful(
            twin, self.prepared.path, seq_len=c.seq_len, batch_size=c.batch_size
        )

    def seconds(self) -> float:
        return self.base_seconds + time.perf_counter() - self.segment_start

    def event(self, kind: str) -> None:
        if self.progress.step_in_epoch >= self.steps:
            return  # the epoch end evaluates and checkpoints anyway
        row = self.evaluate() if kind == "eval" else None
        self.save(last=False)
        if row is not None:
            self.on_row(row)

    def evaluate(self, *, control: bool = True) -> dict[str, Any]:
        """Score the val split and append a metrics row; the caller checkpoints, then reports.

        A row with `control` off (where a budget ends a run) leaves early stopping and the
        plateau schedule alone, so a run stopped and resumed trains exactly as one that
        was not; it still becomes best.weights.h5 when it is best.
        """
        c, p = self.config, self.progress
        seconds = self.seconds()
        val = self.validation_loss()
        if control:
            p.record_eval(val, c)
        chars = p.loss_count * self.batch * c.seq_len
        row = {
            "epoch": p.epoch + 1,
            "train_loss": p.loss_sum / max(1, p.loss_count),
            "val_loss": val,
            "val_bpc": val / LN2,
            "chars_per_s": chars / seconds if seconds > 0 else 0.0,
            "seconds": seconds,
            "step": p.global_step,
            "learning_rate": current_lr(self.model.optimizer),
            "partial": int(p.step_in_epoch < self.steps),
        }
        p.history.append(row)
        if val < p.best_saved:
            self.save_weights(self.run.best_weights)
            p.best_saved = val
        log.info(
            "epoch %d step %d: train_loss %.4f val_loss %.4f val_bpc %.4f %.0f chars/s %.1fs",
            *(row[k] for k in ("epoch", "step", "train_loss", "val_loss", "val_bpc")),
            row["chars_per_s"],
            row["seconds"],
        )
        return row

    def save_weights(self, path: Path) -> None:
        try:
            check_space(path, variables_nbytes(self.model.weights))
            with atomic_path(path) as tmp:
                self.model.save_weights(tmp)
                stamp_h5(tmp, vocab_json=self.vocab_json)
        except OSError as exc:
            raise TrainingError(
                f"cannot write {path}: {exc.strerror or exc}; "
                + ("the previous file is kept" if path.is_file() else "there is none yet")
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
