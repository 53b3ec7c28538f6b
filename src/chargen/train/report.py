"""Progress inside an epoch: what training reports per batch, and how often to show it.

Core calls `on_batch(BatchProgress)` after every batch; the CLI decides how to show it (a redrawn
line on a terminal, a plain line every so often in a log, JSON for scripts) through `Throttle`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class BatchProgress:
    """Where training is: epoch and step (1-based), running loss, speed and time left."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    chars_per_s: float
    eta_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"event": "progress", **asdict(self)}


def format_progress(p: BatchProgress, width: int = 20) -> str:
    """`epoch 2/10 [#####.....] 120/240 loss 1.8342 41,200 chars/s ETA 3:05`."""
    done = int(width * p.step / max(p.steps, 1))
    bar = "#" * done + "." * (width - done)
    return (
        f"epoch {p.epoch}/{p.epochs} [{bar}] {p.step}/{p.steps} loss {p.loss:.4f} "
        f"{p.chars_per_s:,.0f} chars/s ETA {format_duration(p.eta_s)}"
    )


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Throttle:
    """Passes at most one report per `interval` seconds, plus always the last step of an epoch."""

    def __init__(
        self,
        show: Callable[[BatchProgress], None],
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.show, self.interval, self.clock = show, interval, clock
        self._last = -float("inf")

    def __call__(self, p: BatchProgress) -> None:
        now = self.clock()
        if now - self._last >= self.interval or p.step == p.steps:
            self._last = now
            self.show(p)


class Tracker:
    """Turns (epoch, step, loss) into `BatchProgress` with chars/s and an ETA for the whole run.

    The ETA is the nearest end: the last epoch, `steps_left` more steps (--max-steps), or
    `time_left()` seconds (--max-time); a ten-minute budget shows ten minutes, not the hours
    its epochs would take.
    """

    def __init__(
        self,
        on_batch: Callable[[BatchProgress], None],
        *,
        epochs: int,
        steps: int,
        chars_per_step: int,
        steps_left: int | None = None,
        time_left: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.on_batch, self.epochs, self.steps = on_batch, epochs, steps
        self.chars_per_step, self.clock = chars_per_step, clock
        self.steps_left, self.time_left = steps_left, time_left
        self._start = 0.0
        self._first = 0  # the step a resumed epoch's segment starts after
        self._done = 0  # batches since the tracker was made, against steps_left

    def start_epoch(self, skip: int = 0) -> None:
        self._start, self._first = self.clock(), skip

    def batch_done(self, epoch: int, step: int, loss: float) -> None:
        self._done += 1
        elapsed = max(self.clock() - self._start, 1e-9)
        per_step = elapsed / max(step - self._first, 1)
        eta = ((self.steps - step) + (self.epochs - epoch) * self.steps) * per_step
        if self.steps_left is not None:
            eta = min(eta, max(self.steps_left - self._done, 0) * per_step)
        if self.time_left is not None:
            eta = min(eta, max(self.time_left(), 0.0))
        self.on_batch(
            BatchProgress(
                epoch=epoch,
                epochs=self.epochs,
                step=step,
                steps=self.steps,
                loss=loss,
                chars_per_s=self.chars_per_step / per_step,
                eta_s=eta,
            )
        )
