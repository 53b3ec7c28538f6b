"""The `chargen` command: a thin Click layer that reads options, calls core, echoes results."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from chargen import __version__
from chargen.errors import ChargenError, UsageProblem

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


def _echo_prepare(result: Any, show_cleaning: bool = False, *, err: bool = False) -> None:
    p = result.prepared
    for r in result.reports:
        _echo_report(r, err=err, show_cleaning=show_cleaning)
    if result.cached:
        click.echo(f"reusing prepared {p.path}", err=err)
    total = p.sizes["train"] + p.sizes["val"]
    click.echo(
        f"{total:,} characters kept ({p.sizes['train']:,} train, {p.sizes['val']:,} val), "
        f"vocabulary {len(p.vocab)} -> {p.path}",
        err=err,
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
    "--distribute",
    type=click.Choice(["mirrored", "multi-worker"]),
    help="Split each batch across local devices (mirrored) or TF_CONFIG workers.",
)
@click.option(
    "--mixed-precision",
    type=click.Choice(["float16", "bfloat16"]),
    help="Compute dtype; weights stay float32 (GPU: float16, recent CPUs: bfloat16).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the final summary line.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines: progress, epochs, summary.")
@click.option("--tensorboard", is_flag=True, help="Write TensorBoard scalars to RUN/tensorboard.")
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
    report = _TrainReport(quiet=quiet, as_json=as_json, tty=sys.stdout.isatty())
    extras = {
        "tensorboard": tensorboard,
        "sample_every": sample_every or 0,
        "distribute": distribute,
        "mixed_precision": mixed_precision,
    }
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
    if data is not None:
        defaults = {"ascii_": False, "min_char_count": 1, "words_only": False}
        given = [k for k in CLEAN_KEYS if kw[k] != defaults.get(k)]
        given += ["no_strip"] * no_strip + ["encoding"] * (encoding is not None)
        if given:
            flags = ", ".join("--" + k.strip("_").replace("_", "-") for k in given)
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
            mirror=_mirror(),
            seq_len=config.seq_len,
        )
        if not quiet:
            _echo_prepare(result, err=as_json)
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
    corpus: str | None,
    data: Path | None,
    config_name: str | None,
    run_dir: Path | None,
    data_dir: Path,
    runs_dir: Path,
    overrides: dict[str, Any],
    report: _TrainReport,
    extras: dict[str, Any],
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
    _train_and_report(run_training, config, prepared, run, True, report, extras)


class _TrainReport:
    """How `train` shows itself: a table (with a live progress line on a terminal, plain
    periodic lines in a log), only the summary (--quiet), or JSON lines (--json)."""

    def __init__(self, *, quiet: bool, as_json: bool, tty: bool) -> None:
        self.quiet, self.as_json, self.tty = quiet, as_json, tty
        self.live = False  # a \r progress line is on screen and must be cleared

    def start(self, run_path: Path, *, resume: bool = False) -> None:
        if self.as_json:
            click.echo(json.dumps({"event": "start", "run": str(run_path), "resume": resume}))
        elif not self.quiet:
            click.echo(f"{'resuming ' if resume else ''}run directory: {run_path}")
            click.echo("epoch  train_loss  val_loss  val_bpc  chars/s  seconds")

    def progress(self) -> Any:
        from chargen.progress import Throttle, format_progress

        if self.quiet:
            return None
        default = "0.2" if self.tty and not self.as_json else "30"
        interval = float(os.environ.get("CHARGEN_PROGRESS_INTERVAL") or default)

        def show(p: Any) -> None:
            if self.as_json:
                click.echo(json.dumps(p.to_dict()))
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
            click.echo(json.dumps({"event": "epoch", **dataclasses.asdict(s)}))
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
            click.echo(json.dumps(record))
        else:
            click.echo(
                f"best val_bpc {best.val_bpc:.3f} at epoch {best.epoch}; weights in {run_path}"
            )


run_option = click.option(
    "--run",
    "run_path",
    envvar="CHARGEN_RUN",
    type=click.Path(path_type=Path),
    help="Run directory [env CHARGEN_RUN; default runs/latest].",
)


@main.command()
@run_option
@click.option("--seed", "seed_text", help="Prime text the model continues; - reads stdin.")
@click.option(
    "--seed-file", type=click.Path(dir_okay=False, path_type=Path), help="Read the prime text."
)
@click.option("--length", type=int, default=500, show_default=True, help="New characters.")
@click.option(
    "--temperature",
    default="1.0",
    show_default=True,
    help="One value or a comma-separated list (0.2,0.5,1.0): one block per value.",
)
@click.option("--argmax", is_flag=True, help="Always pick the most likely character.")
@click.option("--top-k", "--top-n", "top_k", type=int, help="Sample among the K most likely.")
@click.option("--top-p", type=float, help="Sample from the smallest set with mass >= P.")
@click.option("--num-samples", type=int, default=1, show_default=True)
@click.option("--rng-seed", type=int, help="Seed for reproducible sampling (default: random).")
@click.option("--stop-at", help="End each sample before this string (e.g. a blank line).")
@click.option("--include-seed", is_flag=True, help="Print the seed text before the sample.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the text to FILE (atomically) instead of stdout.",
)
@click.option("--interactive", is_flag=True, help="Prompt for seeds until an empty line or EOF.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per sample.")
@runs_dir_option
def sample(
    run_path: Path | None,
    seed_text: str | None,
    seed_file: Path | None,
    length: int,
    temperature: str,
    argmax: bool,
    top_k: int | None,
    top_p: float | None,
    num_samples: int,
    rng_seed: int | None,
    stop_at: str | None,
    include_seed: bool,
    output: Path | None,
    interactive: bool,
    as_json: bool,
    runs_dir: Path,
) -> None:
    """Generate text from a trained run, one LSTM step per character.

    \b
      chargen sample --seed "alice was" --temperature 0.8 --length 200
      chargen sample --seed "The " --temperature 0.2,0.5,1.0 --stop-at $'\\n\\n'
      echo "ROMEO:" | chargen sample --seed - --top-n 5 --output romeo.txt
      chargen sample --run runs/latest --seed-file prime.txt --argmax --json
      chargen sample --interactive --length 200
    """
    from chargen.errors import ConfigError, UsageProblem
    from chargen.sampling import SampleJob, parse_temperatures, read_seed

    if length < 1:
        raise ConfigError(f"--length must be at least 1, got {length}")
    if num_samples < 1:
        raise ConfigError(f"--num-samples must be at least 1, got {num_samples}")
    temperatures = [0.0] if argmax else parse_temperatures(temperature)
    if interactive and (seed_text is not None or seed_file is not None or output is not None):
        raise UsageProblem("--interactive reads seeds from the prompt; drop --seed/--output")
    raw_seed = "" if interactive else read_seed(seed_text, seed_file, sys.stdin)
    import_tensorflow()
    from chargen.corpus import normalise_seed
    from chargen.generate import load_sampler, seed_options
    from chargen.sample import Strategy

    strategies = [Strategy(temperature=t, top_k=top_k, top_p=top_p) for t in temperatures]
    if rng_seed is None:
        rng_seed = secrets.randbelow(2**31)
    run, sampler, seed = load_sampler(run_path, runs_dir, raw_seed)
    job = SampleJob(
        run=str(run.path), sampler=sampler, length=length, strategies=strategies,
        num_samples=num_samples, rng_seed=rng_seed, stop_at=stop_at,
        include_seed=include_seed, as_json=as_json,
    )  # fmt: skip
    if not interactive:
        if output is None:
            job.write(seed, sys.stdout)
            return
        from chargen.files import write_text_atomic

        buf = io.StringIO()
        job.write(seed, buf)
        write_text_atomic(output, buf.getvalue())
        click.echo(f"wrote {output}", err=True)
        return
    options = seed_options(sampler.vocab)
    while True:
        try:
            line = click.prompt("seed", default="", show_default=False, err=True)
        except click.exceptions.Abort:
            click.echo(err=True)
            return
        if not line:
            return
        try:
            job.write(normalise_seed(line, options), sys.stdout)
        except ChargenError as exc:  # a bad seed ends this round, not the session
            click.echo(f"Error: {exc}", err=True)


@main.command()
@run_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@runs_dir_option
def info(run_path: Path | None, as_json: bool, runs_dir: Path) -> None:
    """Show a run's config, vocabulary, parameter count, best val bits/char and corpus.

    \b
      chargen info
      chargen info --run runs/20250101-120000-wonderland --json | jq .best.val_bpc
    """
    from chargen.runinfo import describe_run, run_info

    details = run_info(run_path, runs_dir)
    click.echo(json.dumps(details, ensure_ascii=False) if as_json else describe_run(details))


@main.command()
@click.option("--order", type=int, default=5, show_default=True, help="Characters of context + 1.")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), help="A prepared .h5.")
@run_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@runs_dir_option
def baseline(
    order: int, data: Path | None, run_path: Path | None, as_json: bool, runs_dir: Path
) -> None:
    """Score a smoothed character n-gram on the val split of the same prepared data.

    Without --data, uses the prepared file of the run (default runs/latest).

    \b
      chargen baseline --order 5
      chargen baseline --data data/alice.h5 --order 3 --json
    """
    from chargen.baseline import run_baseline
    from chargen.dataset import open_prepared
    from chargen.runinfo import run_info

    if data is None:
        prepared_path = run_info(run_path, runs_dir)["corpus"]["prepared"]
        if not prepared_path:
            raise UsageProblem("the run does not record its prepared file; pass --data")
        data = Path(prepared_path)
    prepared = open_prepared(data)
    result = run_baseline(prepared.path, order, len(prepared.vocab))
    if as_json:
        click.echo(json.dumps({"data": str(prepared.path), **dataclasses.asdict(result)}))
        return
    click.echo(
        f"order {result.order} n-gram (Witten-Bell): val {result.val_bpc:.4f} bits/char "
        f"(unigram {result.unigram_bpc:.4f}); {result.train_chars:,} train characters, "
        f"{result.seconds:.1f}s"
    )


@main.command()
@run_option
@click.option(
    "--format", "fmt", type=click.Choice(["keras", "savedmodel"]), default="keras",
    show_default=True, help="keras: one .keras file; savedmodel: a text-generating signature.",
)  # fmt: skip
@click.argument("out", type=click.Path(path_type=Path))
@runs_dir_option
def export(run_path: Path | None, fmt: str, out: Path, runs_dir: Path) -> None:
    """Export a run's best weights as a .keras model or a generating SavedModel.

    \b
      chargen export --format keras alice.keras
      chargen export --run runs/latest --format savedmodel exported/alice/1
      saved_model_cli run --dir exported/alice/1 --tag_set serve \\
        --signature_def serving_default \\
        --input_exprs 'seed="Alice ";temperature=0.8;length=200'
    """
    import_tensorflow()
    from chargen.export import export_run
    from chargen.runs import resolve_run

    written = export_run(resolve_run(run_path, runs_dir), fmt, out)
    click.echo(f"wrote {written}")


@main.command()
@run_option
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: the run dir."
)
@runs_dir_option
def plot(run_path: Path | None, out_dir: Path | None, runs_dir: Path) -> None:
    """Write loss.png (train/val, nats and bits) and embedding.png (PCA of characters).

    Needs the optional extra: pip install 'chargen[plot]'.

    \b
      chargen plot
      chargen plot --run runs/latest --out-dir figures/
    """
    import_tensorflow()
    from chargen.plot import plot_run
    from chargen.runs import resolve_run

    for path in plot_run(resolve_run(run_path, runs_dir), out_dir):
        click.echo(f"wrote {path}")


@main.command("runs")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@runs_dir_option
def list_runs_command(as_json: bool, runs_dir: Path) -> None:
    """List run directories with their best validation bits per character (* = latest).

    \b
      chargen runs
      CHARGEN_RUNS_DIR=/data/runs chargen runs --json
    """
    from chargen.runinfo import describe_runs, list_runs

    found = list_runs(runs_dir)
    if as_json:
        for record in found:
            click.echo(json.dumps(record, ensure_ascii=False))
    elif not found:
        click.echo(f"no runs in {runs_dir}", err=True)
    else:
        click.echo(describe_runs(found))


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
