"""Commands around a trained run: info, runs, evaluate, baseline, export, plot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from chargen.cli.base import (
    corpus_mirror,
    data_dir_option,
    json_line,
    main,
    run_option,
    runs_dir_option,
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
    from chargen.data.prepared import open_prepared
    from chargen.tools.baseline import run_baseline
    from chargen.tools.info import run_info

    if data is None:
        prepared_path = run_info(run_path, runs_dir)["corpus"]["prepared"]
        if not prepared_path:
            raise UsageProblem("the run does not record its prepared file; pass --data")
        data = Path(prepared_path)
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
    from chargen.tools.evaluate import evaluate_run, load_corpus_text

    if corpus is not None and data is not None:
        raise UsageProblem("give at most one of --corpus and --data")
    text = None
    if corpus is not None:
        text = load_corpus_text(
            run_path, runs_dir, corpus, data_dir=data_dir, mirror=corpus_mirror()
        )
    ev = evaluate_run(run_path, runs_dir, text=text, source=corpus, data=data)
    if as_json:
        click.echo(json_line(ev.to_dict(), ensure_ascii=False))
        return
    click.echo(f"run:        {ev.run}")
    click.echo(f"text:       {ev.source}")
    click.echo(f"characters: {ev.chars:,} scored")
    if ev.oov_chars:
        click.echo(f"skipped:    {ev.oov_chars:,} characters outside the vocabulary {ev.oov_set!r}")
    click.echo(f"loss:       {ev.nats_per_char:.4f} nats/char")
    click.echo(f"bpc:        {ev.bits_per_char:.4f} bits/char")
    click.echo(f"perplexity: {ev.perplexity:.3f}")
