"""`chargen autoencoder ...`: the character seq2seq autoencoder's group and its train command;
the commands on a trained one are in autoencoder_trained."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import (
    corpus_mirror,
    data_dir_option,
    json_line,
    main,
    runs_dir_option,
    typed_options,
)
from chargen.errors import UsageProblem

HYPERPARAMETERS = (
    "noise",
    "epochs",
    "units",
    "embedding_dim",
    "thought_dim",
    "max_word_len",
    "lowercase",
    "rng_seed",
    "batch_size",
    "learning_rate",
)


@main.group()
def autoencoder() -> None:
    """Word seq2seq autoencoder: words in, thought vectors, words out.

    \b
      chargen autoencoder train --corpus nltk:shakespeare-hamlet.txt --config autoencoder
      chargen autoencoder reconstruct "to b or not to b tht s th qston"
    """


@autoencoder.command("train")
@click.option("--corpus", "corpora", multiple=True, help="File, glob, -, gutenberg:ID, nltk:ID.")
@click.option("--config", "config_name", help="Preset (autoencoder, autoencoder-noise) or TOML.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--noise", type=float, help="Delete each input character with probability P.")
@click.option("--epochs", type=int)
@click.option("--units", type=int)
@click.option("--embedding-dim", type=int)
@click.option("--thought-dim", type=int, help="Dense bottleneck size.")
@click.option("--max-word-len", type=int, help="Longer words are skipped.")
@click.option("--lowercase/--no-lowercase", default=None, help="Lowercase words [lowercase].")
@click.option("--batch-size", type=int)
@click.option("--learning-rate", type=float)
@click.option("--rng-seed", type=int, help="Seed for the split, weights, order and noise.")
@click.option("--max-time", "max_time_text", help="Stop cleanly after this long: 600, 10m.")
@click.option("--resume", help="Continue a run directory (or 'latest') from its checkpoint.")
@click.option("--no-strip", is_flag=True, help="Keep Project Gutenberg headers and footers.")
@click.option("--encoding", default=None, help="Source encoding (default: detect).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout: epochs, summary.")
@data_dir_option
@runs_dir_option
def train_cmd(
    corpora: tuple[str, ...],
    config_name: str | None,
    run_dir: Path | None,
    max_time_text: str | None,
    resume: str | None,
    no_strip: bool,
    encoding: str | None,
    as_json: bool,
    data_dir: Path,
    runs_dir: Path,
    **hyper: Any,
) -> None:
    """Train on the words of a corpus (NLTK \\w+); the validation split holds out word types."""
    from chargen.autoencoder.run import read_config, resolve_autoencoder_run
    from chargen.autoencoder.train import train_autoencoder
    from chargen.train.controls import parse_duration

    typed = typed_options(hyper)
    max_time = parse_duration(max_time_text) if max_time_text else None
    if resume:
        if corpora or config_name or run_dir or set(typed) - {"epochs"}:
            raise UsageProblem("--resume continues a run as it was; only --epochs and --max-time")
        run = resolve_autoencoder_run(None if resume == "latest" else Path(resume), runs_dir)
        config = read_config(run)
    else:
        if not corpora:
            raise UsageProblem("give --corpus SOURCE (or --resume DIR)")
        source = {"corpora": corpora, "no_strip": no_strip, "encoding": encoding}
        run, config = _start(source, config_name, typed, max_time, data_dir, runs_dir, run_dir)
    click.echo(f"run: {run.path}", err=True)
    epochs = typed.get("epochs") or config.epochs
    on_epoch = _epoch_echo(epochs, as_json=as_json)
    summary = train_autoencoder(run, epochs=epochs, max_time=max_time, on_epoch=on_epoch)
    _echo_summary(run.path, summary, resumed=bool(resume), as_json=as_json)


def _epoch_echo(epochs: int, *, as_json: bool) -> Callable[[Any], None]:
    """The line (and with --json the object) each finished epoch shows."""

    def on_epoch(row: Any) -> None:
        if as_json:
            click.echo(json_line({"event": "epoch", **row.__dict__}))
        click.echo(
            f"epoch {row.epoch}/{epochs}  loss {row.train_loss:.4f}  val loss {row.val_loss:.4f}"
            f"  val char {row.val_char_acc:.1%}  val word {row.val_word_acc:.1%}"
            f"  train word {row.train_word_acc:.1%}  {row.words_per_s:,.0f} words/s",
            err=True,
        )

    return on_epoch


def _echo_summary(path: Path, summary: Any, *, resumed: bool, as_json: bool) -> None:
    """The summary, and for an interrupted run the command that resumes it (exit 130)."""
    if as_json:
        click.echo(json_line({"event": "summary", "run": str(path), **summary.__dict__}))
    if resumed and summary.trained == 0 and summary.stopped is None:
        # a scheduler re-running the same resume after the run finished: success, said so
        click.echo(
            f"run {path} already finished {summary.epochs_done} "
            f"epoch{'s' * (summary.epochs_done != 1)}; nothing to do "
            "(raise --epochs to train on)",
            err=True,
        )
    click.echo(
        f"done: {summary.epochs_done} epochs, best val word accuracy "
        f"{summary.best_val_word_acc:.1%}; run {path}",
        err=True,
    )
    if summary.stopped == "interrupted":
        click.echo(
            f"Error: interrupted; resume with: chargen autoencoder train --resume {path}",
            err=True,
        )
        sys.exit(130)


def _start(
    source: dict[str, Any],
    config_name: str | None,
    typed: dict[str, Any],
    max_time: float | None,
    data_dir: Path,
    runs_dir: Path,
    run_dir: Path | None,
) -> tuple[Any, Any]:
    """A new run: the preset, then the flags typed; words read and split before anything is
    written; the summary of the words on stderr."""
    from chargen.autoencoder.config import load_autoencoder_config
    from chargen.autoencoder.run import start_run
    from chargen.text.clean import CleanOptions

    config = load_autoencoder_config(config_name).replace(**typed, max_time=max_time)
    options = CleanOptions(
        strip=not source["no_strip"], lowercase=config.lowercase, encoding=source["encoding"]
    )
    started = start_run(
        config,
        source["corpora"],
        options,
        data_dir=data_dir,
        mirror=corpus_mirror(),
        runs_root=runs_dir,
        run_dir=run_dir,
    )
    split = started.split
    click.echo(
        f"words: {split.tokens:,} tokens; {len(split.train):,} training and "
        f"{len(split.val):,} held-out word types; {split.too_long:,} longer than "
        f"{config.max_word_len} skipped; {len(started.vocab)} characters",
        err=True,
    )
    return started.run, config
