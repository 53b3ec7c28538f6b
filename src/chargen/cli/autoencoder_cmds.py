"""`chargen autoencoder ...`: the character seq2seq autoencoder's train, reconstruct, encode,
evaluate and plot commands."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import (
    corpus_mirror,
    data_dir_option,
    json_line,
    main,
    run_option,
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

    def on_epoch(row: Any) -> None:
        if as_json:
            click.echo(json_line({"event": "epoch", **row.__dict__}))
        click.echo(
            f"epoch {row.epoch}/{epochs}  loss {row.train_loss:.4f}  val loss {row.val_loss:.4f}"
            f"  val char {row.val_char_acc:.1%}  val word {row.val_word_acc:.1%}"
            f"  train word {row.train_word_acc:.1%}  {row.words_per_s:,.0f} words/s",
            err=True,
        )

    summary = train_autoencoder(run, epochs=epochs, max_time=max_time, on_epoch=on_epoch)
    if as_json:
        click.echo(json_line({"event": "summary", "run": str(run.path), **summary.__dict__}))
    if resume and summary.trained == 0 and summary.stopped is None:
        # a scheduler re-running the same resume after the run finished: success, said so
        click.echo(
            f"run {run.path} already finished {summary.epochs_done} "
            f"epoch{'s' * (summary.epochs_done != 1)}; nothing to do "
            "(raise --epochs to train on)",
            err=True,
        )
    click.echo(
        f"done: {summary.epochs_done} epochs, best val word accuracy "
        f"{summary.best_val_word_acc:.1%}; run {run.path}",
        err=True,
    )
    if summary.stopped == "interrupted":
        click.echo(
            f"Error: interrupted; resume with: chargen autoencoder train --resume {run.path}",
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


unknown_option = click.option(
    "--unknown",
    type=click.Choice(["error", "skip"]),
    default="error",
    show_default=True,
    help="Characters outside the run's vocabulary: an error, or dropped.",
)


@autoencoder.command("reconstruct")
@click.argument("text", required=False)
@click.option("--file", "file_", type=click.File("r", encoding="utf-8"), help="Read the text.")
@click.option("--beam", type=int, default=1, show_default=True)
@unknown_option
@click.option("--json", "as_json", is_flag=True, help="Per word: input, output, log_prob.")
@run_option
@runs_dir_option
def reconstruct_cmd(
    text: str | None,
    file_: Any,
    beam: int,
    unknown: str,
    as_json: bool,
    run_path: Path | None,
    runs_dir: Path,
) -> None:
    """Write each word of TEXT (or --file, or - for stdin) back; what lies between words stays."""
    from chargen.autoencoder.reconstruct import load_trained, reconstruct_text

    if (text is None) == (file_ is None):
        raise UsageProblem("give TEXT, --file F or - (stdin), exactly one")
    if file_ is not None:
        text = file_.read()
    elif text == "-":
        text = sys.stdin.read()
    assert text is not None
    trained = load_trained(run_path, runs_dir)
    start = time.perf_counter()
    out, found = reconstruct_text(trained, text, beam=beam, skip_unknown=unknown == "skip")
    seconds = time.perf_counter() - start
    if as_json:
        words = [r.__dict__ for r in found]
        click.echo(json_line({"text": out, "words": words, "seconds": seconds}))
    else:
        click.echo(out, nl=not out.endswith("\n"))


@autoencoder.command("encode")
@click.argument("words", nargs=-1, required=True)
@unknown_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per word.")
@run_option
@runs_dir_option
def encode_cmd(
    words: tuple[str, ...], unknown: str, as_json: bool, run_path: Path | None, runs_dir: Path
) -> None:
    """Print the thought vector of each WORD."""
    from chargen.autoencoder.reconstruct import encode, load_trained, prepare_words

    trained = load_trained(run_path, runs_dir)
    clean = prepare_words(trained, words, skip_unknown=unknown == "skip")
    for word, vector in zip(words, encode(trained, clean), strict=True):
        if as_json:
            click.echo(json_line({"word": word, "thought": [float(v) for v in vector]}))
        else:
            click.echo(word + "\t" + " ".join(f"{v:.4f}" for v in vector))


@autoencoder.command("evaluate")
@click.option("--corpus", "corpora", multiple=True, help="Score another corpus' words instead.")
@click.option("--noise", type=float, help="Also score with this deletion probability.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@run_option
@data_dir_option
@runs_dir_option
def evaluate_cmd(
    corpora: tuple[str, ...],
    noise: float | None,
    as_json: bool,
    run_path: Path | None,
    data_dir: Path,
    runs_dir: Path,
) -> None:
    """Exact-word and per-character accuracy on held-out words, clean and with noise."""
    from chargen.autoencoder.evaluate import score_words, select_words
    from chargen.autoencoder.reconstruct import load_trained
    from chargen.autoencoder.run import read_words, words_from_corpus
    from chargen.text.clean import CleanOptions

    trained = load_trained(run_path, runs_dir)
    train_words, val_words = read_words(trained.run)
    info: dict[str, Any] = {"run": str(trained.run.path)}
    if corpora:
        options = CleanOptions(lowercase=trained.config.lowercase)
        tokens = words_from_corpus(corpora, options, data_dir=data_dir, mirror=corpus_mirror())
        chosen = select_words(trained, tokens, set(train_words))
        words = chosen.words
        info |= {"corpus": list(corpora), "seen_in_training": chosen.seen}
        info |= {"skipped_unknown": chosen.skipped_unknown, "skipped_long": chosen.skipped_long}
    else:
        words = val_words
        info["corpus"] = None
    noises = [0.0]
    level = noise if noise is not None else trained.config.noise
    if level:
        noises.append(level)
    scores = score_words(trained, words, noises)
    info["scores"] = [s.__dict__ | {"word_accuracy": s.word_accuracy} for s in scores]
    if as_json:
        click.echo(json_line(info))
        return
    what = (
        f"{len(words):,} distinct words of {', '.join(corpora)}"
        if corpora
        else (f"{len(words):,} held-out words")
    )
    click.echo(what)
    for s in scores:
        click.echo(
            f"noise {s.noise:g}: exact words {s.words_right:,}/{s.words:,} "
            f"({s.word_accuracy:.1%}), characters {s.chars_right:,}/{s.chars:,} "
            f"({s.char_accuracy:.1%}), loss {s.loss:.4f}"
        )


@autoencoder.command("plot")
@click.option(
    "--pairs",
    default="dog:dogs,cat:cats,most:mostly,frequent:frequently,legal:illegal,agree:disagree",
    show_default=True,
    help="word:word pairs whose thought-vector offsets are compared.",
)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), help="[the run]")
@run_option
@runs_dir_option
def plot_cmd(pairs: str, out_dir: Path | None, run_path: Path | None, runs_dir: Path) -> None:
    """embedding.png and thoughts.png, and how aligned the pair offsets are."""
    from chargen.autoencoder.evaluate import pair_alignment, parse_pairs
    from chargen.autoencoder.plot import plot_embedding, plot_thoughts
    from chargen.autoencoder.reconstruct import load_trained
    from chargen.autoencoder.run import read_words

    wanted = parse_pairs(pairs)
    trained = load_trained(run_path, runs_dir)
    target = out_dir or trained.run.path
    for path in (plot_embedding(trained, target), plot_thoughts(trained, wanted, target)):
        click.echo(f"wrote {path}")
    aligned = pair_alignment(trained, wanted, read_words(trained.run)[0])
    click.echo(
        f"mean cosine of pair offsets {aligned.pair_cosine:.3f}; "
        f"of random pairs {aligned.random_cosine:.3f}"
    )
