"""`chargen train`: fresh runs and `--resume`, with table, progress or JSON output."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import (
    CLEAN_KEYS,
    clean_options,
    corpus_mirror,
    corpus_options,
    data_dir_option,
    json_line,
    main,
    runs_dir_option,
    with_options,
)
from chargen.cli.corpus_cmds import echo_prepare
from chargen.errors import UsageProblem
from chargen.runtime import import_tensorflow


class ShardCount(click.ParamType):
    """`--cpu-shards`: a whole number, or "auto" (runtime.resolve_shards)."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "auto" or isinstance(value, int):
            return value
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a whole number nor 'auto'", param, ctx)


@main.command()
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    help="File, directory, glob, -, gutenberg:ID or nltk:FILEID (repeatable; prepared and "
    "cached on first use).",
)
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), help="A prepared .h5.")
@click.option("--config", "config_name", help="Preset name (tiny, default, gpu) or TOML path.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--epochs", type=int)
@click.option("--layers", type=int)
@click.option("--units", type=int)
@click.option("--embedding-dim", type=int)
@click.option("--dropout", type=float)
@click.option("--cell", type=click.Choice(["lstm", "gru"]), help="Recurrent cell [lstm].")
@click.option(
    "--layer-norm/--no-layer-norm", default=None, help="LayerNormalization after each layer."
)
@click.option(
    "--stateful/--no-stateful",
    default=None,
    help="Carry state across batches of continuing streams (char-rnn style).",
)
@click.option("--seq-len", type=int)
@click.option("--batch-size", type=int)
@click.option("--learning-rate", type=float)
@click.option("--val-fraction", type=float)
@click.option("--steps-per-epoch", type=int, help="Cap on batches per epoch.")
@click.option("--rng-seed", type=int, help="Seed for weights and data order (default: random).")
@click.option(
    "--jit-compile/--no-jit-compile",
    default=None,
    help="XLA-compile the training step on a CPU (default preset: on).",
)
@click.option(
    "--cpu-shards",
    type=ShardCount(),
    help="With XLA on a CPU, run each batch as N concurrent steps; auto: one per physical core"
    " (default preset: auto).",
)
@click.option(
    "--distribute",
    type=click.Choice(["mirrored", "multi-worker"]),
    help="Split each batch across local devices (mirrored) or TF_CONFIG workers.",
)
@click.option(
    "--mixed-precision",
    type=click.Choice(["float16", "bfloat16"]),
    help="Compute dtype on a GPU; weights stay float32 (slower than float32 on a CPU).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the final summary line.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines: progress, epochs, summary.")
@click.option(
    "--tensorboard",
    is_flag=True,
    help="Write TensorBoard scalars and histograms to RUN/tensorboard.",
)
@click.option(
    "--sample-every",
    type=click.IntRange(min=1),
    help="Every N epochs, write samples at temperatures 0.2, 0.5, 1.0 to train.log.",
)
@click.option("--resume", help="Continue a run directory (or 'latest') from its checkpoint.")
@click.option("--checkpoint-every", type=int, help="Also checkpoint every N steps.")
@click.option("--eval-every", type=int, help="Also validate (and checkpoint) every N steps.")
@click.option("--early-stopping", type=int, help="Stop after N validations without improvement.")
@click.option("--max-steps", type=int, help="Stop cleanly after N steps in all.")
@click.option("--max-time", "max_time_text", help="Stop cleanly after this long: 3600, 90m, 2h.")
@click.option("--warmup-steps", type=int, help="Linear learning-rate warm-up steps.")
@click.option("--lr-decay", type=float, help="Multiply the learning rate by this each epoch.")
@click.option("--lr-plateau-patience", type=int, help="Cut the LR after N flat validations.")
@click.option("--lr-plateau-factor", type=float, help="Factor of each plateau cut (0.5).")
@click.option("--clip-norm", type=float, help="Global gradient-norm clip (0 disables).")
@click.option("--deterministic/--no-deterministic", default=None, help="TF op determinism.")
@with_options(corpus_options)
@data_dir_option
@runs_dir_option
def train(
    corpora: tuple[str, ...],
    data: Path | None,
    config_name: str | None,
    run_dir: Path | None,
    resume: str | None,
    max_time_text: str | None,
    no_strip: bool,
    encoding: str | None,
    data_dir: Path,
    runs_dir: Path,
    distribute: str | None,
    mixed_precision: str | None,
    quiet: bool,
    as_json: bool,
    tensorboard: bool,
    sample_every: int | None,
    **overrides: Any,
) -> None:
    """Train a stacked LSTM; writes a run directory (config, vocab, weights, metrics, log).

    \b
      chargen train --corpus wonderland.txt --config tiny
      chargen train --data data/alice.h5 --layers 3 --units 512 --epochs 30
      chargen train --corpus shakespeare.txt --config char-rnn --stateful --tensorboard
      chargen train --corpus alice.txt --config tiny --json | jq -c 'select(.event=="epoch")'
    """
    import_tensorflow(training=True)
    from dataclasses import replace

    from chargen.config import load_config
    from chargen.data.prepare import prepare_corpus
    from chargen.data.prepared import check_fits, open_prepared, verify_ids
    from chargen.runs.lock import check_unlocked
    from chargen.runs.rundir import create_run_dir
    from chargen.runtime import check_distribute
    from chargen.train.controls import parse_duration
    from chargen.train.run import config_for_data
    from chargen.train.run import train as run_training

    corpus: str | tuple[str, ...] | None = None
    if corpora:
        corpus = corpora[0] if len(corpora) == 1 else corpora
    if max_time_text is not None:
        overrides["max_time"] = parse_duration(max_time_text)
    kw = {key: overrides.pop(key) for key in CLEAN_KEYS}
    report = _TrainReport(quiet=quiet, as_json=as_json, tty=sys.stdout.isatty())
    extras = {
        "tensorboard": tensorboard,
        "sample_every": sample_every or 0,
        "distribute": distribute,
        "mixed_precision": mixed_precision,
    }
    defaults = {"ascii_": False, "min_char_count": 1, "words_only": False}
    given = [k for k in CLEAN_KEYS if kw[k] != defaults.get(k)]
    given += ["no_strip"] * no_strip + ["encoding"] * (encoding is not None)
    flags = ", ".join("--" + k.strip("_").replace("_", "-") for k in given)
    if resume is not None and given:
        raise UsageProblem(
            f"{flags}: a resumed run keeps the cleaning options it was prepared with"
        )
    if resume is not None:
        _resume(
            resume,
            corpus,
            data,
            config_name,
            run_dir,
            data_dir,
            runs_dir,
            overrides,
            report,
            extras,
        )
        return
    if (corpus is None) == (data is None):
        raise UsageProblem("give exactly one of --corpus and --data")
    check_distribute(distribute)  # TF_CONFIG: before anything is prepared or created
    if data is not None and given:
        raise UsageProblem(f"{flags}: cleaning options apply to --corpus, not --data")
    if run_dir is not None and run_dir.is_dir():
        check_unlocked(run_dir)
    config = load_config(config_name)
    if overrides.get("units") is not None or overrides.get("layers") is not None:
        config = dataclasses.replace(config, layer_units=None)  # typed sizes beat the preset's
    config = config.replace(**overrides)
    if config.rng_seed is None:
        config = config.replace(rng_seed=secrets.randbelow(2**31))
    if corpus is not None:
        options = replace(clean_options(None, no_strip, encoding, **kw), lowercase=config.lowercase)
        result = prepare_corpus(
            corpus,
            options,
            val_fraction=config.val_fraction,
            data_dir=data_dir,
            mirror=corpus_mirror(),
            seq_len=config.seq_len,
        )
        if not quiet:
            echo_prepare(result, err=as_json)
        prepared = result.prepared
        stem = "corpus"
        if isinstance(corpus, str):
            stem = Path(corpus).stem if ":" not in corpus else corpus.replace(":", "-")
            stem = re.sub(r"[^\w.-]+", "-", stem).strip("-.") or "corpus"  # globs, `-`
    else:
        assert data is not None
        prepared = open_prepared(data)
        verify_ids(data)  # a damaged file fails before a run directory exists
        config = config_for_data(config, prepared, overrides)
        stem = data.stem
    check_fits(prepared, config.seq_len)  # before anything is written
    run = create_run_dir(runs_dir, run_dir, stem)
    _train_and_report(run_training, config, prepared, run, False, report, extras)


def _train_and_report(
    run_training: Any,
    config: Any,
    prepared: Any,
    run: Any,
    resume: bool,
    report: _TrainReport,
    extras: dict[str, Any],
) -> None:
    """Run training with the chosen report, then say how it ended and how to go on."""
    import signal

    report.start(run.path, resume=resume)
    result_ = run_training(
        config,
        prepared,
        run,
        on_epoch=report.epoch,
        on_batch=report.progress(),
        resume=resume,
        **extras,
    )
    report.summary(run.path, result_)
    again = f"chargen train --resume {run.path}"
    if result_.stopped == "signal":
        name = signal.Signals(result_.signum).name if result_.signum else "a signal"
        click.echo(f"Interrupted by {name}; checkpoint saved. Resume with: {again}", err=True)
        sys.exit(143 if result_.signum == signal.SIGTERM else 130)
    if result_.stopped == "max_steps":
        click.echo(f"stopped at --max-steps {config.max_steps}; to go on: {again} --max-steps N")
    elif result_.stopped == "max_time":
        click.echo(f"stopped by --max-time; resume with: {again}")
    elif result_.stopped == "early_stopping":
        click.echo("stopped early: validation loss no longer improves")


def _resume(
    resume: str,
    corpus: str | tuple[str, ...] | None,
    data: Path | None,
    config_name: str | None,
    run_dir: Path | None,
    data_dir: Path,
    runs_dir: Path,
    overrides: dict[str, Any],
    report: _TrainReport,
    extras: dict[str, Any],
) -> None:
    from chargen.data.prepare import prepare_corpus
    from chargen.data.prepared import open_prepared, verify_ids
    from chargen.data.vocab import Vocab
    from chargen.generation.load import seed_options
    from chargen.runs.lock import check_unlocked
    from chargen.runs.rundir import read_run_config, resolve_run
    from chargen.tools.evaluate import run_prepared_path
    from chargen.train.checkpoint import RESUMABLE_CHANGES, saved_position
    from chargen.train.controls import Progress
    from chargen.train.run import resumed_precision
    from chargen.train.run import train as run_training

    if config_name is not None or run_dir is not None or (corpus and data):
        raise UsageProblem("--resume takes the run's own config; drop --config and --run-dir")
    run = resolve_run(None if resume == "latest" else Path(resume), runs_dir)
    check_unlocked(run.path)
    saved = read_run_config(run)
    for key, value in overrides.items():
        if value is not None and key not in RESUMABLE_CHANGES and value != getattr(saved, key):
            flag = "--" + key.replace("_", "-")
            raise UsageProblem(
                f"{flag} cannot change when resuming (the run has {getattr(saved, key)!r})"
            )
    config = saved.replace(**{k: v for k, v in overrides.items() if k in RESUMABLE_CHANGES})
    extras["mixed_precision"] = resumed_precision(run, extras["mixed_precision"])
    position = saved_position(run.checkpoint)
    if position is not None:  # before any output or model building
        Progress.from_dict(position).check_unfinished(run.path, config.epochs)
    if corpus is not None:
        options = seed_options(Vocab.load(run.vocab))  # the run's own cleaning options
        prepared = prepare_corpus(
            corpus,
            options,
            val_fraction=config.val_fraction,
            data_dir=data_dir,
            mirror=corpus_mirror(),
        ).prepared
    else:
        prepared = open_prepared(data if data is not None else run_prepared_path(run))
        verify_ids(prepared.path)
    _train_and_report(run_training, config, prepared, run, True, report, extras)


class _TrainReport:
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
            click.echo(
                f"{s.epoch:5d}  {s.train_loss:10.4f}  {s.val_loss:8.4f}  {s.val_bpc:7.3f}  "
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
                "epochs": len(result.history),
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
