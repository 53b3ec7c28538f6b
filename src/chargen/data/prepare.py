"""`--corpus` to a prepared HDF5 file, reusing a cached one when source and options match."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chargen.data.prepared import Prepared, open_prepared, prepare, verify_ids
from chargen.errors import CorpusError, RunError
from chargen.text.clean import CleanOptions, CleanReport
from chargen.text.sources import load_corpus


@dataclass(frozen=True)
class PrepareResult:
    prepared: Prepared
    reports: list[CleanReport]  # empty when the cached file was reused
    cached: bool


# Which cleaning rules made a cached file: raise it when the same bytes and options clean to
# other text (2: more production notes removed, markers found anywhere, U+FFFD kept as UTF-8;
# 3: the character set a Gutenberg header declares)
CLEANING_RULES = 3


def cache_key(raw_sha256: str, options: CleanOptions, val_fraction: float) -> str:
    """Same bytes, options and cleaning rules give the same prepared file; anything else a
    new one, so a file cached under older rules is not reused."""
    blob = json.dumps(
        {
            "sha256": raw_sha256,
            "options": options.to_dict(),
            "val_fraction": val_fraction,
            "rules": CLEANING_RULES,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_corpus(
    spec: str | Sequence[str],
    options: CleanOptions,
    *,
    val_fraction: float,
    data_dir: Path,
    mirror: str | None = None,
    out: Path | None = None,
    seq_len: int | None = None,
) -> PrepareResult:
    """Clean and encode `spec` into `out` (default: a cache file under data_dir/prepared).

    Three streaming passes: check and hash the bytes, clean and count (spooling the code
    units), encode the spool. `seq_len`, when given, is checked against both splits before
    anything is written.
    """
    if not 0 < val_fraction < 1:
        raise CorpusError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if seq_len is not None and seq_len < 1:
        raise CorpusError(f"--seq-len must be at least 1, got {seq_len}")
    if out is not None and not out.name:
        raise CorpusError(f"--out needs a file name, got {str(out)!r}")
    corpus = load_corpus(spec, options, data_dir=data_dir, mirror=mirror)
    if out is not None:
        check_out(out, corpus.paths)
    key = cache_key(corpus.sha256, options, val_fraction)
    if out is None:
        out = data_dir / "prepared" / f"{corpus.stem}-{key}.h5"
        if out.is_file():
            try:
                cached = open_prepared(out)
                verify_ids(out)
                if seq_len is None or min(cached.sizes.values()) > seq_len:
                    return PrepareResult(cached, [], cached=True)
            except RunError:
                pass  # a damaged cache entry is rebuilt below
    prepared = prepare(
        corpus.chunks,
        out,
        val_fraction=val_fraction,
        normalisation=options.to_dict(),
        source_sha256=corpus.sha256,
        sources=[d.source for d in corpus.documents],
        min_char_count=options.min_char_count,
        seq_len=seq_len,
    )
    return PrepareResult(prepared, corpus.reports, cached=False)


def check_out(out: Path, sources: Sequence[Path]) -> None:
    """Refuse an `--out` that would replace a corpus file or any other file that is not a
    prepared one: a typo there must never cost the user their text."""
    if out.is_symlink() or (out.exists() and not out.is_file()):
        raise CorpusError(f"--out {out} is not a regular file; choose another --out")
    if not out.exists():
        return
    for src in sources:
        try:
            same = os.path.samefile(out, src)
        except OSError:
            same = False
        if same:
            raise CorpusError(f"--out {out} is the corpus file {src}; choose another --out")
    if not is_prepared_file(out):
        raise CorpusError(
            f"--out {out} exists and is not a prepared file; remove it or choose another"
        )


def is_prepared_file(path: Path) -> bool:
    """Whether `path` is one of chargen's prepared files (not text, weights or a checkpoint)."""
    import h5py

    from chargen.data.prepared import FORMAT

    try:
        with h5py.File(path, "r") as h5:
            return bool(h5.attrs.get("format") == FORMAT)
    except (OSError, RuntimeError):
        return False
