"""The `chargen` group, error mapping and the options several commands share."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from chargen import __version__
from chargen.errors import ChargenError


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
        except BrokenPipeError:
            # `chargen clean ... | head`: the reader is done, as for `yes | head`
            _silence_stdout()
            ctx.exit(141)
        except OSError as exc:  # the system's refusal (stdout on a full disk), not a bug here
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"Error: {exc.strerror or exc}{where}", err=True)
            _silence_stdout()
            ctx.exit(1)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: what it still buffers would fail again, with a traceback,
    when Python flushes it at exit."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


corpus_sources_option = click.option(
    "--corpus",
    required=True,
    multiple=True,
    help="File, directory, glob, -, gutenberg:ID or nltk:FILEID (repeatable).",
)
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


# Corpus flags that are CleanOptions fields rather than config keys (lowercase is a config key).
CLEAN_FIELDS = {
    "ascii_": "ascii",
    "min_char_count": "min_char_count",
    "keep_chars": "keep_chars",
    "words_only": "words_only",
    "drop_stopwords": "drop_stopwords",
    "no_strip": "strip",
    "encoding": "encoding",
}


def clean_fields(typed: dict[str, Any]) -> dict[str, Any]:
    """Take the typed corpus flags out of `typed`, as CleanOptions fields (`--no-strip` is
    strip=False): what is left are config keys."""
    clean = {CLEAN_FIELDS[k]: typed.pop(k) for k in list(typed) if k in CLEAN_FIELDS}
    if "strip" in clean:
        clean["strip"] = not clean["strip"]
    return clean


def clean_options(lowercase: bool | None, no_strip: bool, encoding: str | None, **kw: Any) -> Any:
    """CleanOptions from the corpus flags shared by prepare, clean and train."""
    from chargen.text.clean import CleanOptions

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


def typed_options(values: dict[str, Any]) -> dict[str, Any]:
    """The options of `values` the user typed (command line or environment), not defaults:
    a typed value overrides the preset even when it equals click's default."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return {k: v for k, v in values.items() if ctx.get_parameter_source(k) in given}


def corpus_mirror() -> str | None:
    return os.environ.get("CHARGEN_CORPUS_MIRROR") or None


@click.group(cls=ChargenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chargen")
def main() -> None:
    """Character-level LSTM text generation: prepare a corpus, train, sample.

    \b
      chargen train --corpus wonderland.txt --config tiny
      chargen sample --seed "alice was" --temperature 0.8
    """


run_option = click.option(
    "--run",
    "run_path",
    envvar="CHARGEN_RUN",
    type=click.Path(path_type=Path),
    help="Run directory [env CHARGEN_RUN; default runs/latest].",
)


def json_line(obj: Any, **kw: Any) -> str:
    """Strict JSON for --json output: nan and inf (a diverged run's loss) become null, since
    Python's default `NaN` breaks every other JSON parser."""
    return json.dumps(_finite(obj), allow_nan=False, **kw)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
