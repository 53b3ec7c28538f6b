"""`chargen sample`: generation from a trained run, streamed or as JSON."""

from __future__ import annotations

import io
import secrets
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from chargen.cli.base import (
    main,
    run_option,
    runs_dir_option,
)
from chargen.errors import ChargenError, UsageProblem
from chargen.generation.backend import SAMPLE_BACKENDS, sample_backend
from chargen.runtime import import_tensorflow


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
@click.option(
    "--num-samples", type=int, default=1, show_default=True, help="Continuations in one batch."
)
@click.option("--rng-seed", type=int, help="Seed for reproducible sampling (default: random).")
@click.option("--stop-at", help="End each sample before this string (e.g. a blank line).")
@click.option("--include-seed", is_flag=True, help="Print the seed text before the sample.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the text to FILE (atomically) instead of stdout.",
)
@click.option("--interactive", is_flag=True, help="Prompt for seeds until an empty line or EOF.")
@click.option(
    "--seed-from-corpus",
    is_flag=True,
    help="Prime with a random passage of the run's val split (by --rng-seed; shown on stderr).",
)
@click.option(
    "--seed-length", type=int, default=100, show_default=True, help="With --seed-from-corpus."
)
@click.option(
    "--backend",
    type=click.Choice(SAMPLE_BACKENDS),
    default="auto",
    envvar="CHARGEN_SAMPLE_BACKEND",
    show_default=True,
    help="numpy (no TensorFlow; auto on a CPU) or tensorflow (compiled; auto on a GPU).",
)
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
    seed_from_corpus: bool,
    seed_length: int,
    backend: str,
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
      chargen sample --seed-from-corpus --seed-length 60 --rng-seed 7
    """
    from chargen.generation.session import SampleJob, read_seed

    strategies = _check_flags(
        length, num_samples, temperature, argmax, top_k, top_p, seed_text, seed_file,
        output, interactive, seed_from_corpus,
    )  # fmt: skip
    raw_seed = "" if interactive or seed_from_corpus else read_seed(seed_text, seed_file, sys.stdin)
    backend = sample_backend(backend)
    if backend == "tensorflow":
        import_tensorflow()
    from chargen.generation.load import corpus_seed, load_sampler, seed_options

    if rng_seed is None:
        rng_seed = secrets.randbelow(2**31)
    run, sampler, seed = load_sampler(run_path, runs_dir, raw_seed, backend=backend)
    if seed_from_corpus:
        seed = corpus_seed(run, sampler.vocab, seed_length, rng_seed)
        if not as_json:  # the JSON objects carry it as "seed"
            click.echo(f"seed: {seed!r}", err=True)
    job = SampleJob(
        run=str(run.path), sampler=sampler, length=length, strategies=strategies,
        num_samples=num_samples, rng_seed=rng_seed, stop_at=stop_at,
        include_seed=include_seed, as_json=as_json,
    )  # fmt: skip
    if interactive:
        _interact(job, seed_options(sampler.vocab))
    else:
        _write(job, seed, output)


def _write(job: Any, seed: str, output: Path | None) -> None:
    """The samples to stdout as they come, or to `output` whole and atomically."""
    if output is None:
        job.write(seed, sys.stdout)
        return
    from chargen.files import write_text_atomic

    buf = io.StringIO()
    job.write(seed, buf)
    write_text_atomic(output, buf.getvalue())
    click.echo(f"wrote {output}", err=True)


def _check_flags(
    length: int,
    num_samples: int,
    temperature: str,
    argmax: bool,
    top_k: int | None,
    top_p: float | None,
    seed_text: str | None,
    seed_file: Path | None,
    output: Path | None,
    interactive: bool,
    seed_from_corpus: bool,
) -> list[Any]:
    """Refuse flags that contradict each other before any run is read; a Strategy for each
    temperature."""
    from chargen.errors import ConfigError
    from chargen.generation.session import parse_temperatures
    from chargen.generation.strategy import Strategy

    if length < 1:
        raise ConfigError(f"--length must be at least 1, got {length}")
    if num_samples < 1:
        raise ConfigError(f"--num-samples must be at least 1, got {num_samples}")
    ctx = click.get_current_context()
    typed_temperature = ctx.get_parameter_source("temperature") is not ParameterSource.DEFAULT
    if argmax and (typed_temperature or top_k is not None or top_p is not None):
        raise UsageProblem(
            "--argmax always takes the most likely character; drop --temperature, --top-k "
            "and --top-p (or --argmax)"
        )
    if interactive and (seed_text is not None or seed_file is not None or output is not None):
        raise UsageProblem("--interactive reads seeds from the prompt; drop --seed/--output")
    if seed_from_corpus and (interactive or seed_text is not None or seed_file is not None):
        raise UsageProblem(
            "--seed-from-corpus is the seed; drop --seed, --seed-file and --interactive"
        )
    if ctx.get_parameter_source("seed_length") is ParameterSource.COMMANDLINE:
        if not seed_from_corpus:
            raise UsageProblem("--seed-length applies to --seed-from-corpus")
    temperatures = [0.0] if argmax else parse_temperatures(temperature)
    return [Strategy(temperature=t, top_k=top_k, top_p=top_p) for t in temperatures]


def _interact(job: Any, options: Any) -> None:
    """Seeds from the prompt until an empty line or EOF; a bad seed ends its round only."""
    from chargen.generation.load import prepare_seed

    while True:
        try:
            line = click.prompt("seed", default="", show_default=False, err=True)
        except click.exceptions.Abort:
            click.echo(err=True)
            return
        if not line:
            return
        try:
            job.write(prepare_seed(line, options), sys.stdout)
        except ChargenError as exc:
            click.echo(f"Error: {exc}", err=True)
