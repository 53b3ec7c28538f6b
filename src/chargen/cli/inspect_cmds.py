"""Commands around a trained run: info, runs, evaluate, baseline, export, plot."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import (
    CLEAN_FIELDS,
    clean_options,
    corpus_mirror,
    corpus_options,
    data_dir_option,
    json_line,
    main,
    run_option,
    runs_dir_option,
    typed_options,
    with_options,
)
from chargen.errors import UsageProblem
from chargen.runtime import import_tensorflow


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
    from chargen.tools.info import describe_run, run_info

    details = run_info(run_path, runs_dir)
    click.echo(json_line(details, ensure_ascii=False) if as_json else describe_run(details))


@main.command()
@click.option("--order", type=int, default=5, show_default=True, help="Characters of context + 1.")
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    help="Prepare this text (as prepare does, cached) and score its val split (repeatable).",
)
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), help="A prepared .h5.")
@run_option
@click.option("--val-fraction", type=float, default=0.1, show_default=True, help="With --corpus.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@with_options(corpus_options)
@data_dir_option
@runs_dir_option
def baseline(
    order: int,
    corpora: tuple[str, ...],
    data: Path | None,
    run_path: Path | None,
    val_fraction: float,
    as_json: bool,
    data_dir: Path,
    runs_dir: Path,
    **cleaning: Any,
) -> None:
    """Score a smoothed character n-gram on the val split of the same prepared data.

    With neither --corpus nor --data, uses the prepared file of the run (default
    runs/latest).

    \b
      chargen baseline --order 5
      chargen baseline --corpus wonderland.txt --order 3
      chargen baseline --data data/alice.h5 --order 3 --json
    """
    from click.core import ParameterSource

    from chargen.data.prepared import open_prepared
    from chargen.tools.baseline import run_baseline
    from chargen.tools.info import run_info
    from chargen.train.plan import flag_names

    # CHARGEN_RUN in the environment is a default, not a conflict with --corpus or --data
    run_typed = click.get_current_context().get_parameter_source("run_path") == (
        ParameterSource.COMMANDLINE
    )
    if corpora and data is not None:
        raise UsageProblem("give at most one of --corpus and --data")
    if corpora:
        if run_typed:
            raise UsageProblem("give at most one of --corpus and --run")
        prepared = _prepare_quietly(corpora, val_fraction, data_dir, cleaning)
    else:
        unused = typed_options({"val_fraction": val_fraction, **cleaning})
        if unused:
            flags = flag_names({CLEAN_FIELDS.get(k, k): v for k, v in unused.items()})
            raise UsageProblem(f"{flags}: these options apply to --corpus only")
        if data is None:
            prepared_path = run_info(run_path, runs_dir)["corpus"]["prepared"]
            if not prepared_path:
                raise UsageProblem("the run does not record its prepared file; pass --data")
            data = Path(prepared_path)
        elif run_typed:
            raise UsageProblem("give at most one of --data and --run")
        prepared = open_prepared(data)
    result = run_baseline(prepared.path, order, len(prepared.vocab))
    if as_json:
        click.echo(json_line({"data": str(prepared.path), **dataclasses.asdict(result)}))
        return
    click.echo(
        f"order {result.order} n-gram (Witten-Bell): val {result.val_bpc:.4f} bits/char "
        f"(unigram {result.unigram_bpc:.4f}); {result.train_chars:,} train characters, "
        f"{result.seconds:.1f}s"
    )


def _prepare_quietly(
    corpora: tuple[str, ...], val_fraction: float, data_dir: Path, cleaning: dict[str, Any]
) -> Any:
    """Prepare (or reuse) the corpus exactly as `chargen prepare` would; its summary goes to
    stderr so stdout stays the one result line (or JSON object)."""
    from chargen.cli.corpus_cmds import echo_prepare
    from chargen.data.prepare import prepare_corpus

    options = clean_options(**cleaning)
    spec = corpora[0] if len(corpora) == 1 else corpora
    result = prepare_corpus(
        spec, options, val_fraction=val_fraction, data_dir=data_dir, mirror=corpus_mirror()
    )
    echo_prepare(result, err=True)
    return result.prepared


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
    from chargen.runs.rundir import resolve_run
    from chargen.tools.export import export_run

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
    from chargen.runs.rundir import resolve_run
    from chargen.tools.plot import plot_run

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
    from chargen.tools.info import describe_runs, list_runs

    found = list_runs(runs_dir)
    if as_json:
        for record in found:
            click.echo(json_line(record, ensure_ascii=False))
    elif not found:
        click.echo(f"no runs in {runs_dir}", err=True)
    else:
        click.echo(describe_runs(found))


@main.command()
@run_option
@click.option("--corpus", help="Score this text (cleaned like the run's corpus).")
@click.option(
    "--data", type=click.Path(dir_okay=False, path_type=Path), help="Score its val split."
)
@click.option(
    "--carry-state",
    is_flag=True,
    help="Read the text with the state carried, as the sampler does, not in windows.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@data_dir_option
@runs_dir_option
def evaluate(
    run_path: Path | None,
    corpus: str | None,
    data: Path | None,
    carry_state: bool,
    as_json: bool,
    data_dir: Path,
    runs_dir: Path,
) -> None:
    """Loss of a run's best weights in nats and bits per character, and perplexity.

    \b
      chargen evaluate                       # the run's own validation split
      chargen evaluate --corpus other-book.txt --json
      chargen evaluate --carry-state         # as a long sample reads it (numpy, no TensorFlow)
    """
    if not carry_state:
        import_tensorflow()
    from chargen.errors import UsageProblem
    from chargen.tools.evaluate import evaluate_run, load_corpus_text

    if corpus is not None and data is not None:
        raise UsageProblem("give at most one of --corpus and --data")
    text = None
    if corpus is not None:
        text = load_corpus_text(
            run_path, runs_dir, corpus, data_dir=data_dir, mirror=corpus_mirror()
        )
    ev = evaluate_run(
        run_path, runs_dir, text=text, source=corpus, data=data, carry_state=carry_state
    )
    if as_json:
        click.echo(json_line(ev.to_dict(), ensure_ascii=False))
        return
    click.echo(f"run:        {ev.run}")
    click.echo(f"text:       {ev.source}")
    click.echo(f"characters: {ev.chars:,} scored")
    click.echo(f"context:    {ev.context}")
    if ev.oov_chars:
        click.echo(f"skipped:    {ev.oov_chars:,} characters outside the vocabulary {ev.oov_set!r}")
    click.echo(f"loss:       {ev.nats_per_char:.4f} nats/char")
    click.echo(f"bpc:        {ev.bits_per_char:.4f} bits/char")
    click.echo(f"perplexity: {ev.perplexity:.3f}")
