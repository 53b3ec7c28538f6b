"""How `chargen train` shows itself: a table, a live progress line, the summary, or JSON."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import json_line


class TrainReport:
    """How `train` shows itself: a table (with a live progress line on a terminal, plain
    periodic lines in a log), only the summary (--quiet), or JSON lines (--json)."""

    def __init__(self, *, quiet: bool, as_json: bool, tty: bool) -> None:
        self.quiet, self.as_json, self.tty = quiet, as_json, tty
        self.live = False  # a \r progress line is on screen and must be cleared

    def start(self, run_path: Path, *, resume: bool = False) -> None:
        if self.as_json:
            click.echo(json_line({"event": "start", "run": str(run_path), "resume": resume}))
        elif not self.quiet:
            click.echo(f"{'resuming ' if resume else ''}run directory: {run_path}")
            click.echo("epoch  train_loss  val_loss  val_bpc  chars/s  seconds")

    def progress(self) -> Any:
        from chargen.train.report import Throttle, format_progress

        if self.quiet:
            return None
        default = "0.2" if self.tty and not self.as_json else "30"
        interval = float(os.environ.get("CHARGEN_PROGRESS_INTERVAL") or default)

        def show(p: Any) -> None:
            if self.as_json:
                click.echo(json_line(p.to_dict()))
            elif self.tty:
                click.echo(f"\r{format_progress(p)}\x1b[K", nl=False)
                self.live = True
            else:
                click.echo(format_progress(p))

        return Throttle(show, interval)

    def epoch(self, s: Any) -> None:
        if self.live:
            click.echo("\r\x1b[K", nl=False)
            self.live = False
        if self.as_json:
            click.echo(json_line({"event": "epoch", **dataclasses.asdict(s)}))
        elif not self.quiet:
            label = f"{s.epoch}*" if s.partial else str(s.epoch)  # * : inside the epoch
            click.echo(
                f"{label:>5}  {s.train_loss:10.4f}  {s.val_loss:8.4f}  {s.val_bpc:7.3f}  "
                f"{s.chars_per_s:7.0f}  {s.seconds:7.1f}"
            )

    def summary(self, run_path: Path, result: Any) -> None:
        best = result.best
        if best is None:
            return
        if self.as_json:
            record = {
                "event": "summary",
                "run": str(run_path),
                "epochs": sum(1 for s in result.history if not s.partial),
                "best_epoch": best.epoch,
                "best_val_loss": best.val_loss,
                "best_val_bpc": best.val_bpc,
                "seconds": sum(s.seconds for s in result.history),
            }
            click.echo(json_line(record))
        else:
            click.echo(
                f"best val_bpc {best.val_bpc:.3f} at epoch {best.epoch}; weights in {run_path}"
            )

    def ending(self, run_path: Path, result: Any, config: Any) -> None:
        """Say how training ended and how to go on; a signal exits 130 (SIGINT) or 143.

        With --json, stdout stays JSON lines: the ending is a `stopped` event."""
        self.summary(run_path, result)
        again = f"chargen train --resume {run_path}"
        if result.stopped == "signal":
            name = signal.Signals(result.signum).name if result.signum else "a signal"
            click.echo(f"Interrupted by {name}; checkpoint saved. Resume with: {again}", err=True)
            sys.exit(143 if result.signum == signal.SIGTERM else 130)
        message = {
            "max_steps": f"stopped at --max-steps {config.max_steps}; to go on: {again} "
            "--max-steps N",
            "max_time": f"stopped by --max-time; resume with: {again}",
            "early_stopping": "stopped early: validation loss no longer improves",
        }.get(result.stopped or "")
        if message is None:
            return
        if self.as_json:
            event = {"event": "stopped", "reason": result.stopped, "message": message}
            click.echo(json_line(event))
        else:
            click.echo(message)

    def nothing_to_do(self, finished: Any, result: Any) -> None:
        """A resume of a run with nothing left to train: exit 0, as a re-run scheduler wants."""
        if self.as_json:
            click.echo(
                json_line(
                    {
                        "event": "finished",
                        "run": str(finished.run.path),
                        "reason": finished.reason,
                        "message": finished.message(),
                    }
                )
            )
        else:
            click.echo(finished.message())
        self.summary(finished.run.path, result)
