"""An autoencoder run directory: starting one from a corpus, and reading it back.

Beside the files every run has (config.json, vocab.json, run.json, metrics.csv, weights), an
autoencoder run keeps words.json, its training and validation words, so resume, evaluate and
plot never need the corpus again and always see the same split.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chargen import __version__
from chargen.autoencoder.config import AutoencoderConfig
from chargen.autoencoder.words import WordSplit, split_words, tokenize, words_vocab
from chargen.data.vocab import Vocab
from chargen.errors import ConfigError, RunError
from chargen.files import write_text_atomic
from chargen.runs.rundir import (
    KIND_AUTOENCODER,
    RunDir,
    corpus_stem,
    create_run_dir,
    read_config_data,
    resolve_run,
    write_config_text,
    write_meta,
)
from chargen.text.clean import CleanOptions
from chargen.text.sources import load_corpus

WORDS_FILE = "words.json"


@dataclass(frozen=True)
class StartedRun:
    run: RunDir
    split: WordSplit
    vocab: Vocab


def words_from_corpus(
    spec: str | Sequence[str],
    options: CleanOptions,
    *,
    data_dir: Path,
    mirror: str | None,
) -> list[str]:
    """Word tokens of the cleaned corpus, in order."""
    corpus = load_corpus(spec, options, data_dir=data_dir, mirror=mirror)
    return tokenize("".join(corpus.chunks()))


def start_run(
    config: AutoencoderConfig,
    spec: Sequence[str],
    options: CleanOptions,
    *,
    data_dir: Path,
    mirror: str | None,
    runs_root: Path,
    run_dir: Path | None,
) -> StartedRun:
    """Read and split the words first, then create the run: bad input writes nothing."""
    tokens = words_from_corpus(spec, options, data_dir=data_dir, mirror=mirror)
    split = split_words(
        tokens,
        max_word_len=config.max_word_len,
        val_fraction=config.val_fraction,
        seed=config.rng_seed,
    )
    if not split.train:
        raise ConfigError("too few distinct words to hold out a validation split")
    vocab = words_vocab([*split.train, *split.val])
    stem = corpus_stem(spec[0] if len(spec) == 1 else None)
    run = create_run_dir(runs_root, run_dir, stem)
    write_config_text(run, config.to_json())
    vocab.save(run.vocab)
    words = {"train": split.train, "val": split.val, "train_counts": split.train_counts}
    write_text_atomic(run.path / WORDS_FILE, json.dumps(words, ensure_ascii=False) + "\n")
    meta: dict[str, Any] = {
        "chargen_version": __version__,
        "kind": KIND_AUTOENCODER,
        "sources": list(spec),
        "tokens": split.tokens,
        "train_words": len(split.train),
        "val_words": len(split.val),
        "too_long": split.too_long,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_meta(run, meta)
    return StartedRun(run, split, vocab)


def resolve_autoencoder_run(run_path: Path | None, runs_root: Path) -> RunDir:
    return resolve_run(run_path, runs_root, kind=KIND_AUTOENCODER)


def read_config(run: RunDir) -> AutoencoderConfig:
    try:
        return AutoencoderConfig.from_dict(read_config_data(run), source=str(run.config))
    except ConfigError as exc:
        raise RunError(f"{run.config} is damaged or from another chargen version: {exc}") from exc


def read_words(run: RunDir) -> tuple[list[str], list[str]]:
    """The run's (training, validation) words."""
    data = _words_data(run)
    return [str(w) for w in data["train"]], [str(w) for w in data["val"]]


def read_train_counts(run: RunDir) -> list[int]:
    """How often each training word occurs in the corpus (frequency_weighted epochs)."""
    return [int(n) for n in _words_data(run)["train_counts"]]


def _words_data(run: RunDir) -> dict[str, Any]:
    path = run.path / WORDS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not all(isinstance(data[k], list) for k in ("train", "val", "train_counts")):
            raise TypeError("not lists")
        return data
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RunError(f"cannot read {path}: the run directory is damaged") from exc
