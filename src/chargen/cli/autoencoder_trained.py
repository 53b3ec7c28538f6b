"""`chargen autoencoder reconstruct|encode|evaluate|plot`: what a trained autoencoder does
with words."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from chargen.cli.autoencoder_cmds import autoencoder
from chargen.cli.base import corpus_mirror, data_dir_option, json_line, run_option, runs_dir_option
from chargen.errors import UsageProblem

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
