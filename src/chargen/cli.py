"""The `chargen` command: a thin Click layer that reads options, calls core, echoes results."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from chargen import __version__
from chargen.errors import ChargenError

# TensorFlow's C++ start-up chatter is not for users; an explicit TF_CPP_MIN_LOG_LEVEL wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def import_tensorflow() -> None:
    """Import TensorFlow with its pre-logging-init lines ("Could not find cuda drivers...")
    sent to /dev/null: they bypass TF_CPP_MIN_LOG_LEVEL and would clutter every command.
    A failing import still raises normally after stderr is restored."""
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class ChargenGroup(click.Group):
    """Maps ChargenError to `Error: <msg>` and its exit code; other exceptions are bugs."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChargenError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            ctx.exit(130)


def _data_dir(value: str) -> Path:
    return Path(value)


data_dir_option = click.option(
    "--data-dir",
    default="data",
    envvar="CHARGEN_DATA_DIR",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache for downloaded ebooks and prepared corpora.",
)
runs_dir_option = click.option(
    "--runs-dir",
    default="runs",
    envvar="CHARGEN_RUNS_DIR",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where run directories (and runs/latest) live.",
)
corpus_options = [
    click.option(
        "--lowercase/--no-lowercase", default=None, help="Lowercase the text (default: no)."
    ),
    click.option("--no-strip", is_flag=True, help="Keep Project Gutenberg headers and footers."),
    click.option("--encoding", default=None, help="Source encoding (default: detect)."),
    click.option("--ascii", "ascii_", is_flag=True, help="Transliterate quotes, dashes, accents."),
    click.option(
        "--min-char-count",
        type=int,
        default=1,
        show_default=True,
        help="Rarer characters become one unknown symbol.",
    ),
    click.option("--keep-chars", metavar="REGEX", help="Keep only characters matching REGEX."),
    click.option("--words-only", is_flag=True, help="Keep NLTK \\w+ tokens joined by spaces."),
    click.option("--drop-stopwords", metavar="LANG", help="Drop NLTK stopwords (--words-only)."),
]
CLEAN_KEYS = ("ascii_", "min_char_count", "keep_chars", "words_only", "drop_stopwords")


def clean_options(lowercase: bool | None, no_strip: bool, encoding: str | None, **kw: Any) -> Any:
    """CleanOptions from the corpus flags shared by prepare, clean and train."""
    from chargen.corpus import CleanOptions

    return CleanOptions(
        strip=not no_strip,
        lowercase=bool(lowercase),
        encoding=encoding,
        ascii=kw["ascii_"],
        min_char_count=kw["min_char_count"],
        keep_chars=kw["keep_chars"],
        words_only=kw["words_only"],
        drop_stopwords=kw["drop_stopwords"],
    )


def with_options(options: list[Any]) -> Any:
    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _mirror() -> str | None:
    return os.environ.get("CHARGEN_CORPUS_MIRROR") or None


@click.group(cls=ChargenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chargen")
def main() -> None:
    """Character-level LSTM text generation: prepare a corpus, train, sample.

    \b
      chargen train --corpus wonderland.txt --config tiny
      chargen sample --seed "alice was" --temperature 0.8
    """


@main.command()
@click.option(
    "--corpus",
    required=True,
    multiple=True,
    help="File, directory, glob, -, gutenberg:ID or nltk:FILEID (repeatable).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output .h5 file.")
@click.option("--val-fraction", type=float, default=0.1, show_default=True)
@click.option(
    "--seq-len", type=int, default=100, show_default=True, help="Each split must fit a window."
)
@click.option("--show-cleaning", is_flag=True, help="Print the first and last kept lines.")
@with_options(corpus_options)
@data_dir_option
def prepare(
    corpus: tuple[str, ...],
    out: Path | None,
    val_fraction: float,
    seq_len: int,
    show_cleaning: bool,
    lowercase: bool | None,
    no_strip: bool,
    encoding: str | None,
    data_dir: Path,
    **kw: Any,
) -> None:
    """Clean a corpus and encode it once into an HDF5 file of character ids.

    \b
      chargen prepare --corpus wonderland.txt --out data/alice.h5
      chargen prepare --corpus gutenberg:11 --lowercase --show-cleaning
    """
    from chargen.prepare import prepare_corpus

    options = clean_options(lowercase, no_strip, encoding, **kw)
    spec = corpus[0] if len(corpus) == 1 else corpus
    result = prepare_corpus(
        spec,
        options,
        val_fraction=val_fraction,
        data_dir=data_dir,
        mirror=_mirror(),
        out=out,
        seq_len=seq_len,
    )
    _echo_prepare(result, show_cleaning=show_cleaning)


@main.command()
@click.option(
    "--corpus",
    required=True,
    multiple=True,
    help="File, directory, glob, -, gutenberg:ID or nltk:FILEID (repeatable).",
)
@with_options(corpus_options)
@data_dir_option
def clean(
    corpus: tuple[str, ...],
    lowercase: bool | None,
    no_strip: bool,
    encoding: str | None,
    data_dir: Path,
    **kw: Any,
) -> None:
    """Write the cleaned corpus to stdout, exactly what prepare encodes; summary on stderr.

    \b
      chargen clean --corpus gutenberg:11 --no-lowercase | less
    """
    from chargen.sources import load_corpus

    options = clean_options(lowercase, no_strip, encoding, **kw)
    spec = corpus[0] if len(corpus) == 1 else corpus
    loaded = load_corpus(spec, options, data_dir=data_dir, mirror=_mirror())
    sys.stdout.flush()
    out = sys.stdout.buffer  # UTF-8 bytes whatever the terminal's locale
    chars = 0
    for chunk in loaded.chunks():
        chars += len(chunk)
        out.write(chunk.encode("utf-8"))
    out.flush()
    for r in loaded.reports:
        _echo_report(r, err=True, show_cleaning=True)
    click.echo(f"{chars:,} characters", err=True)


def _echo_report(r: Any, *, err: bool = False, show_cleaning: bool = False) -> None:
    for notice in r.notices:
        click.echo(f"Notice: {notice}", err=True)
    markers = (
        f"start {r.start_marker!r}, end {r.end_marker!r}"
        if r.start_marker or r.end_marker
        else "no markers"
    )
    click.echo(
        f"{r.source}: removed {r.removed_top} header lines and {r.removed_bottom} footer "
        f"lines ({markers}); encoding {r.encoding}",
        err=err,
    )
    if show_cleaning:
        click.echo(f"  first kept line: {r.first_line!r}", err=err)
        click.echo(f"  last kept line:  {r.last_line!r}", err=err)


def _echo_prepare(result: Any, show_cleaning: bool = False) -> None:
    p = result.prepared
    for r in result.reports:
        _echo_report(r, show_cleaning=show_cleaning)
    if result.cached:
        click.echo(f"reusing prepared {p.path}")
    total = p.sizes["train"] + p.sizes["val"]
    click.echo(
        f"{total:,} characters kept ({p.sizes['train']:,} train, {p.sizes['val']:,} val), "
        f"vocabulary {len(p.vocab)} -> {p.path}"
    )


@main.command()
@click.option("--corpus", help="Text file or gutenberg:ID (prepared and cached on first use).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), help="A prepared .h5.")
@click.option("--config", "config_name", help="Preset name (tiny, default, gpu) or TOML path.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--epochs", type=int)
@click.option("--layers", type=int)
@click.option("--units", type=int)
@click.option("--embedding-dim", type=int)
@click.option("--dropout", type=float)
@click.option("--seq-len", type=int)
@click.option("--batch-size", type=int)
@click.option("--learning-rate", type=float)
@click.option("--val-fraction", type=float)
@click.option("--steps-per-epoch", type=int, help="Cap on batches per epoch.")
@click.option("--rng-seed", type=int, help="Seed for weights and data order (default: random).")
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
    corpus: str | None,
    data: Path | None,
    config_name: str | None,
    run_dir: Path | None,
    resume: str | None,
    max_time_text: str | None,
    no_strip: bool,
    encoding: str | None,
    data_dir: Path,
    runs_dir: Path,
    **overrides: Any,
) -> None:
    """Train a stacked LSTM; writes a run directory (config, vocab, weights, metrics, log).

    \b
      chargen train --corpus wonderland.txt --config tiny
      chargen train --data data/alice.h5 --layers 3 --units 512 --epochs 30
    """
    import_tensorflow()
    from dataclasses import replace

    from chargen.config import load_config
    from chargen.controls import parse_duration
    from chargen.dataset import check_fits, open_prepared
    from chargen.errors import UsageProblem
    from chargen.lock import check_unlocked
    from chargen.prepare import prepare_corpus
    from chargen.runs import create_run_dir
    from chargen.train import config_for_data
    from chargen.train import train as run_training

    if max_time_text is not None:
        overrides["max_time"] = parse_duration(max_time_text)
    kw = {key: overrides.pop(key) for key in CLEAN_KEYS}
    if resume is not None:
        _resume(resume, corpus, data, config_name, run_dir, data_dir, runs_dir, overrides)
        return
    if (corpus is None) == (data is None):
        raise UsageProblem("give exactly one of --corpus and --data")
    if data is not None:
        defaults = {"ascii_": False, "min_char_count": 1, "words_only": False}
        given = [k for k in CLEAN_KEYS if kw[k] != defaults.get(k)]
        given += ["no_strip"] * no_strip + ["encoding"] * (encoding is not None)
        if given:
            flags = ", ".join("--" + k.strip("_").replace("_", "-") for k in given)
            raise UsageProblem(f"{flags}: cleaning options apply to --corpus, not --data")
    if run_dir is not None and run_dir.is_dir():
        check_unlocked(run_dir)
    config = load_config(config_name).replace(**overrides)
    if config.rng_seed is None:
        config = config.replace(rng_seed=secrets.randbelow(2**31))
    if corpus is not None:
        options = replace(clean_options(None, no_strip, encoding, **kw), lowercase=config.lowercase)
        result = prepare_corpus(
            corpus,
            options,
            val_fraction=config.val_fraction,
            data_dir=data_dir,
            mirror=_mirror(),
            seq_len=config.seq_len,
        )
        _echo_prepare(result)
        prepared = result.prepared
        stem = Path(corpus).stem if ":" not in corpus else corpus.replace(":", "-")
        stem = re.sub(r"[^\w.-]+", "-", stem).strip("-.") or "corpus"  # globs, `-`
    else:
        assert data is not None
        prepared = open_prepared(data)
        config = config_for_data(config, prepared, overrides)
        stem = data.stem
    check_fits(prepared, config.seq_len)  # before anything is written
    run = create_run_dir(runs_dir, run_dir, stem)
    click.echo(f"run directory: {run.path}")
    _train_and_report(run_training, config, prepared, run, resume=False)


def _train_and_report(
    run_training: Any, config: Any, prepared: Any, run: Any, resume: bool
) -> None:
    """Run training with the per-evaluation table, then say how it ended and how to go on."""
    import signal

    header = ["epoch  train_loss  val_loss  val_bpc  chars/s  seconds"]

    def on_epoch(s: Any) -> None:
        while header:
            click.echo(header.pop())
        click.echo(
            f"{s.epoch:5d}  {s.train_loss:10.4f}  {s.val_loss:8.4f}  {s.val_bpc:7.3f}  "
            f"{s.chars_per_s:7.0f}  {s.seconds:7.1f}"
        )

    result_ = run_training(config, prepared, run, on_epoch=on_epoch, resume=resume)
    best = result_.best
    if best is not None:
        click.echo(f"best val_bpc {best.val_bpc:.3f} at epoch {best.epoch}; weights in {run.path}")
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
    corpus: str | None,
    data: Path | None,
    config_name: str | None,
    run_dir: Path | None,
    data_dir: Path,
    runs_dir: Path,
    overrides: dict[str, Any],
) -> None:
    from chargen.checkpoint import RESUMABLE_CHANGES
    from chargen.dataset import open_prepared
    from chargen.errors import UsageProblem
    from chargen.evaluate import run_prepared_path
    from chargen.generate import seed_options
    from chargen.lock import check_unlocked
    from chargen.prepare import prepare_corpus
    from chargen.runs import read_run_config, resolve_run
    from chargen.train import train as run_training
    from chargen.vocab import Vocab

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
    if corpus is not None:
        options = seed_options(Vocab.load(run.vocab))  # the run's own cleaning options
        prepared = prepare_corpus(
            corpus, options, val_fraction=config.val_fraction, data_dir=data_dir, mirror=_mirror()
        ).prepared
    else:
        prepared = open_prepared(data if data is not None else run_prepared_path(run))
    click.echo(f"resuming run directory: {run.path}")
    _train_and_report(run_training, config, prepared, run, resume=True)


@main.command()
@click.option("--run", "run_path", type=click.Path(path_type=Path), help="Run dir [runs/latest].")
@click.option("--seed", "seed_text", required=True, help="Prime text the model continues.")
@click.option("--length", type=int, default=500, show_default=True, help="New characters.")
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--argmax", is_flag=True, help="Always pick the most likely character.")
@click.option("--top-k", type=int, help="Sample among the K most likely characters.")
@click.option("--top-p", type=float, help="Sample from the smallest set with mass >= P.")
@click.option("--num-samples", type=int, default=1, show_default=True)
@click.option("--rng-seed", type=int, help="Seed for reproducible sampling (default: random).")
@click.option("--include-seed", is_flag=True, help="Print the seed text before the sample.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per sample.")
@runs_dir_option
def sample(
    run_path: Path | None,
    seed_text: str,
    length: int,
    temperature: float,
    argmax: bool,
    top_k: int | None,
    top_p: float | None,
    num_samples: int,
    rng_seed: int | None,
    include_seed: bool,
    as_json: bool,
    runs_dir: Path,
) -> None:
    """Generate text from a trained run, one LSTM step per character.

    \b
      chargen sample --seed "alice was" --temperature 0.8 --length 200
      chargen sample --run runs/latest --seed "The " --argmax --json
    """
    import_tensorflow()
    from chargen.errors import ConfigError
    from chargen.generate import load_sampler
    from chargen.sample import Strategy

    if length < 1:
        raise ConfigError(f"--length must be at least 1, got {length}")
    if num_samples < 1:
        raise ConfigError(f"--num-samples must be at least 1, got {num_samples}")
    strategy = Strategy(temperature=0.0 if argmax else temperature, top_k=top_k, top_p=top_p)
    if rng_seed is None:
        rng_seed = secrets.randbelow(2**31)
    run, sampler, seed = load_sampler(run_path, runs_dir, seed_text)
    if as_json or num_samples > 1:
        texts = sampler.generate(seed, length, strategy, num_samples=num_samples, rng_seed=rng_seed)
        for i, text in enumerate(texts):
            if as_json:
                record = {
                    "run": str(run.path),
                    "seed": seed,
                    "text": text,
                    "temperature": strategy.temperature,
                    "top_k": top_k,
                    "top_p": top_p,
                    "rng_seed": rng_seed,
                    "sample": i,
                }
                click.echo(json.dumps(record, ensure_ascii=False))
            else:
                if i:
                    click.echo("\n---")
                click.echo((seed if include_seed else "") + text)
        return
    out = sys.stdout
    last = ""
    if include_seed:
        out.write(seed)
    for parts in sampler.stream(seed, length, strategy, num_samples=1, rng_seed=rng_seed):
        out.write(parts[0])
        out.flush()
        last = parts[0] or last
    if not last.endswith("\n"):
        out.write("\n")
    out.flush()


@main.command()
@click.option("--run", "run_path", type=click.Path(path_type=Path), help="Run dir [runs/latest].")
@click.option("--corpus", help="Score this text (cleaned like the run's corpus).")
@click.option(
    "--data", type=click.Path(dir_okay=False, path_type=Path), help="Score its val split."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@data_dir_option
@runs_dir_option
def evaluate(
    run_path: Path | None,
    corpus: str | None,
    data: Path | None,
    as_json: bool,
    data_dir: Path,
    runs_dir: Path,
) -> None:
    """Loss of a run's best weights in nats and bits per character, and perplexity.

    \b
      chargen evaluate                       # the run's own validation split
      chargen evaluate --corpus other-book.txt --json
    """
    import_tensorflow()
    from chargen.errors import UsageProblem
    from chargen.evaluate import evaluate_run, load_corpus_text

    if corpus is not None and data is not None:
        raise UsageProblem("give at most one of --corpus and --data")
    text = None
    if corpus is not None:
        text = load_corpus_text(run_path, runs_dir, corpus, data_dir=data_dir, mirror=_mirror())
    ev = evaluate_run(run_path, runs_dir, text=text, source=corpus, data=data)
    if as_json:
        click.echo(json.dumps(ev.to_dict(), ensure_ascii=False))
        return
    click.echo(f"run:        {ev.run}")
    click.echo(f"text:       {ev.source}")
    click.echo(f"characters: {ev.chars:,} scored")
    if ev.oov_chars:
        click.echo(f"skipped:    {ev.oov_chars:,} characters outside the vocabulary {ev.oov_set!r}")
    click.echo(f"loss:       {ev.nats_per_char:.4f} nats/char")
    click.echo(f"bpc:        {ev.bits_per_char:.4f} bits/char")
    click.echo(f"perplexity: {ev.perplexity:.3f}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
