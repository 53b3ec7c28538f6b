"""`chargen prepare` and `chargen clean`: a corpus in, ids or cleaned text out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from chargen.cli.base import (
    clean_options,
    corpus_mirror,
    corpus_options,
    corpus_sources_option,
    data_dir_option,
    main,
    with_options,
)


@main.command()
@corpus_sources_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output .h5 file.")
@click.option(
    "--val-fraction",
    type=float,
    default=0.1,
    show_default=True,
    help="Share held out for validation.",
)
@click.option(
    "--seq-len", type=int, default=100, show_default=True, help="Each split must fit a window."
)
@click.option(
    "--show-cleaning",
    is_flag=True,
    help="Print the notes removed and the first and last kept lines.",
)
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
    from chargen.data.prepare import prepare_corpus
    from chargen.runtime import tune_allocator

    options = clean_options(lowercase, no_strip, encoding, **kw)
    spec = corpus[0] if len(corpus) == 1 else corpus
    tune_allocator()  # each block's text, code units and ids reuse the last one's pages
    result = prepare_corpus(
        spec,
        options,
        val_fraction=val_fraction,
        data_dir=data_dir,
        mirror=corpus_mirror(),
        out=out,
        seq_len=seq_len,
    )
    echo_prepare(result, show_cleaning=show_cleaning)


@main.command()
@corpus_sources_option
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
    from chargen.text.sources import load_corpus

    options = clean_options(lowercase, no_strip, encoding, **kw)
    spec = corpus[0] if len(corpus) == 1 else corpus
    loaded = load_corpus(spec, options, data_dir=data_dir, mirror=corpus_mirror())
    rare = rare_chars(loaded.chunks, options.min_char_count)
    sys.stdout.flush()
    out = sys.stdout.buffer  # UTF-8 bytes whatever the terminal's locale
    chars = 0
    for chunk in loaded.chunks():
        chars += len(chunk)
        out.write((chunk.translate(rare) if rare else chunk).encode("utf-8"))
    out.flush()
    for r in loaded.reports:
        echo_report(r, err=True, show_cleaning=True)
    click.echo(f"{chars:,} characters", err=True)


def rare_chars(chunks: Any, min_count: int) -> dict[int, str]:
    """What prepare's vocabulary does to characters seen fewer than `min_count` times: each
    becomes the unknown symbol. An extra counting pass, only when --min-char-count asks."""
    if min_count <= 1:
        return {}
    from chargen.data.vocab import UNKNOWN, count_chars

    counts = count_chars(chunks())
    return {ord(ch): UNKNOWN for ch, n in counts.items() if n < min_count}


def echo_report(r: Any, *, err: bool = False, show_cleaning: bool = False) -> None:
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
        # a big file's cut is planned on 1 MB of lines at each end (document.EDGE): 1 MB of
        # blank lines or one 1 MB line there leaves no whole kept line to show
        unseen = "(none within 1 MB of this end of the file)"
        for note in r.notes:
            click.echo(f"  removed note:    {_short(note)}", err=err)
        click.echo(
            f"  first kept line: {_short(r.first_line) if r.first_line else unseen}", err=err
        )
        click.echo(f"  last kept line:  {_short(r.last_line) if r.last_line else unseen}", err=err)


def _short(line: str, width: int = 100) -> str:
    return repr(line) if len(line) <= width else repr(line[:width]) + f" ... ({len(line):,} chars)"


def echo_prepare(result: Any, show_cleaning: bool = False, *, err: bool = False) -> None:
    p = result.prepared
    for r in result.reports:
        echo_report(r, err=err, show_cleaning=show_cleaning)
    if result.cached:
        click.echo(f"reusing prepared {p.path}", err=err)
    total = p.sizes["train"] + p.sizes["val"]
    click.echo(
        f"{total:,} characters kept ({p.sizes['train']:,} train, {p.sizes['val']:,} val), "
        f"vocabulary {len(p.vocab)} -> {p.path}",
        err=err,
    )
