"""`chargen train`: fresh runs and `--resume`, with table, progress or JSON output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import (
    clean_fields,
    corpus_mirror,
    corpus_options,
    data_dir_option,
    main,
    runs_dir_option,
    typed_options,
    with_options,
)
from chargen.cli.corpus_cmds import echo_prepare
from chargen.cli.train_report import TrainReport
from chargen.config import CELLS, LR_SCHEDULES, OPTIMIZERS
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
@click.option(
    "--config",
    "config_name",
    help="Preset (tiny, default, gpu, char-rnn, ...: docs/presets.md) or a TOML path.",
)
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--epochs", type=int)
@click.option("--layers", type=int)
@click.option("--units", type=int)
@click.option("--embedding-dim", type=int)
@click.option("--dropout", type=float)
@click.option("--cell", type=click.Choice(CELLS), help="Recurrent cell [lstm].")
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
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="[adam].")
@click.option("--beta-2", type=float, help="Second-moment decay (default: the optimizer's own).")
@click.option("--weight-decay", type=float, help="Decoupled weight decay, as in AdamW [0].")
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
@click.option(
    "--lr-schedule",
    type=click.Choice(LR_SCHEDULES),
    help="Shape the rate to the budget: anneal (flat, then linearly to 0 over the last half) "
    "or cosine [auto: anneal with --max-time].",
)
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
    data_dir: Path,
    runs_dir: Path,
    distribute: str | None,
    mixed_precision: str | None,
    quiet: bool,
    as_json: bool,
    tensorboard: bool,
    sample_every: int | None,
    **options: Any,
) -> None:
    """Train a stacked LSTM; writes a run directory (config, vocab, weights, metrics, log).

    \b
      chargen train --corpus wonderland.txt --config tiny
      chargen train --data data/alice.h5 --layers 3 --units 512 --epochs 30
      chargen train --corpus shakespeare.txt --config char-rnn --stateful --tensorboard
      chargen train --corpus alice.txt --config tiny --json | jq -c 'select(.event=="epoch")'
    """
    import_tensorflow(training=True)
    from chargen.train.controls import parse_duration
    from chargen.train.plan import Finished, TrainRequest, plan_training
    from chargen.train.run import TrainResult

    typed = typed_options(options)
    clean = clean_fields(typed)
    if max_time_text is not None:
        typed["max_time"] = parse_duration(max_time_text)
    report = TrainReport(quiet=quiet, as_json=as_json, tty=sys.stdout.isatty())
    request = TrainRequest(
        corpus=(corpora[0] if len(corpora) == 1 else corpora) or None,
        data=data,
        config_name=config_name,
        run_dir=run_dir,
        resume=resume,
        config_flags=typed,
        clean_flags=clean,
        data_dir=data_dir,
        runs_dir=runs_dir,
        mirror=corpus_mirror(),
        distribute=distribute,
        mixed_precision=mixed_precision,
    )
    shown = None if quiet else (lambda result: echo_prepare(result, err=as_json))
    plan = plan_training(request, on_prepared=shown)
    if isinstance(plan, Finished):
        report.nothing_to_do(plan, TrainResult(plan.run, plan.history))
        return
    _run(plan, report, tensorboard=tensorboard, sample_every=sample_every, distribute=distribute)


def _run(
    plan: Any,
    report: TrainReport,
    *,
    tensorboard: bool,
    sample_every: int | None,
    distribute: str | None,
) -> None:
    """Train what `plan` holds, reporting as it goes; an interrupt outside the loop's own
    handler still ends with the resume command and exit 130."""
    from chargen.train.run import train as run_training

    report.start(plan.run.path, resume=plan.resume)
    try:
        result = run_training(
            plan.config,
            plan.prepared,
            plan.run,
            on_epoch=report.epoch,
            on_batch=report.progress(),
            resume=plan.resume,
            tensorboard=tensorboard,
            sample_every=sample_every or 0,
            distribute=distribute,
            mixed_precision=plan.mixed_precision,
        )
        report.ending(plan.run.path, result, plan.config)
    except KeyboardInterrupt:
        # Outside the training loop's handler (model building, the last lines): every file
        # is written atomically, so the run is as its last checkpoint left it.
        again = f"chargen train --resume {plan.run.path}"
        click.echo(f"Error: interrupted; the run is resumable: {again}", err=True)
        sys.exit(130)
