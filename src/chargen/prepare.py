"""`--corpus` to a prepared HDF5 file, reusing a cached one when source and options match."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from chargen.corpus import CleanOptions, CleanReport
from chargen.dataset import Prepared, open_prepared, prepare
from chargen.errors import CorpusError, RunError
from chargen.sources import load_corpus, resolve_paths


@dataclass(frozen=True)
class PrepareResult:
    prepared: Prepared
    reports: list[CleanReport]  # empty when the cached file was reused
    cached: bool


def cache_key(raw_sha256: str, options: CleanOptions, val_fraction: float) -> str:
    """Same bytes and options give the same prepared file; anything else a new one."""
    blob = json.dumps(
        {"sha256": raw_sha256, "options": options.to_dict(), "val_fraction": val_fraction},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_corpus(
    spec: str,
    options: CleanOptions,
    *,
    val_fraction: float,
    data_dir: Path,
    mirror: str | None = None,
    out: Path | None = None,
) -> PrepareResult:
    """Clean and encode `spec` into `out` (default: a cache file under data_dir/prepared)."""
    if not 0 < val_fraction < 1:
        raise CorpusError(f"val_fraction must be in (0, 1), got {val_fraction}")
    paths = resolve_paths(spec, data_dir=data_dir, mirror=mirror)
    digest = hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise CorpusError(f"cannot read corpus {path}: {exc.strerror}") from exc
    stem = paths[0].stem if len(paths) == 1 else "corpus"
    key = cache_key(digest.hexdigest(), options, val_fraction)
    if out is None:
        out = data_dir / "prepared" / f"{stem}-{key}.h5"
        if out.is_file():
            try:
                return PrepareResult(open_prepared(out), [], cached=True)
            except RunError:
                pass  # a damaged cache entry is rebuilt below
    corpus = load_corpus(spec, options, data_dir=data_dir, mirror=mirror)
    prepared = prepare(
        corpus.chunks,
        out,
        val_fraction=val_fraction,
        normalisation=options.to_dict(),
        source_sha256=corpus.sha256,
        sources=[r.source for r in corpus.reports],
    )
    return PrepareResult(prepared, corpus.reports, cached=False)
