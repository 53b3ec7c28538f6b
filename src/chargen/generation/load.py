"""Loading a run for generation: config, vocabulary and weights checked against each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chargen.data.vocab import Vocab
from chargen.errors import ConfigError, RunError, VocabError
from chargen.generation.backend import sample_threads
from chargen.runs.rundir import RunDir, read_run_config, resolve_run
from chargen.text.clean import CleanOptions, normalise_seed


def seed_options(vocab: Vocab) -> CleanOptions:
    """The cleaning options recorded with the vocabulary, for normalising seed text."""
    return CleanOptions.from_dict(dict(vocab.normalisation))


def load_sampler(
    run_path: Path | None, runs_root: Path, seed_text: str, *, backend: str = "tensorflow"
) -> tuple[RunDir, Any, str]:
    """The run, a sampler over its best weights, and the seed normalised as the corpus was.

    `backend` "numpy" reads the weights with h5py and never imports TensorFlow
    (generation.numpy_sampler); "tensorflow" rebuilds the Keras model and compiles its loop.
    """
    if backend == "numpy":
        run, sampler = load_numpy_sampler(run_path, runs_root, threads=sample_threads())
    else:
        from chargen.generation.sampler import Sampler

        run, model, vocab = load_run_model(run_path, runs_root)
        sampler = Sampler(model, vocab)
    return run, sampler, prepare_seed(seed_text, seed_options(sampler.vocab))


def load_numpy_sampler(
    run_path: Path | None, runs_root: Path, *, threads: int | None = 1
) -> tuple[RunDir, Any]:
    """The run and a numpy sampler over its best weights, checked as load_run_model checks;
    `threads` threads step its samples (None: one, on the BLAS library's pool)."""
    from chargen.generation.numpy_sampler import NumpySampler
    from chargen.model.weights import read_arrays, verify_h5

    run = resolve_run(run_path, runs_root)
    config = read_run_config(run)
    vocab = Vocab.load(run.vocab)
    weights = run.weights_for_sampling()
    verify_h5(weights, vocab_json=vocab.to_json())
    arrays = read_arrays(
        weights, cell=config.cell, layer_sizes=config.layer_sizes, layer_norm=config.layer_norm
    )
    if arrays["dense"][0].shape[1] != len(vocab):
        raise RunError(
            f"{weights}: model predicts {arrays['dense'][0].shape[1]} characters but the "
            f"vocabulary has {len(vocab)}"
        )
    return run, NumpySampler(arrays, vocab, cell=config.cell, threads=threads)


def prepare_seed(seed_text: str, options: CleanOptions) -> str:
    """The seed normalised as the corpus was; a seed that cleaning empties says so."""
    seed = normalise_seed(seed_text, options)
    if seed_text and not seed:
        active = [k for k in ("ascii", "keep_chars", "words_only") if getattr(options, k)]
        raise VocabError(
            f"the seed {seed_text!r} is empty after the run's cleaning "
            f"({', '.join(active) or 'normalisation'}); give characters the corpus kept"
        )
    return seed


def load_run_model(run_path: Path | None, runs_root: Path) -> tuple[RunDir, Any, Vocab]:
    """The run's best weights in a rebuilt model, checked against their checksum and vocab."""
    from chargen.model.build import load_trained
    from chargen.model.weights import verify_h5

    run = resolve_run(run_path, runs_root)
    config = read_run_config(run)
    vocab = Vocab.load(run.vocab)
    weights = run.weights_for_sampling()
    verify_h5(weights, vocab_json=vocab.to_json())
    model = load_trained(config, len(vocab), weights)
    return run, model, vocab


def corpus_seed(run: RunDir, vocab: Vocab, length: int, rng_seed: int) -> str:
    """A random passage of `length` characters from the run's validation split, chosen by
    `rng_seed`: text the model never trained on, as the classic tutorials prime it."""
    import numpy as np

    from chargen.data.prepared import open_prepared, read_range
    from chargen.runs.rundir import prepared_path

    if length < 1:
        raise ConfigError(f"--seed-length must be at least 1, got {length}")
    path = prepared_path(run)
    if not path.is_file():
        raise RunError(
            f"the run's prepared file {path} is gone (or relative to another directory); "
            "--seed-from-corpus reads its validation split"
        )
    prepared = open_prepared(path)
    if prepared.vocab.chars != vocab.chars:
        raise RunError(f"{path} holds another vocabulary than the run's vocab.json")
    size = prepared.sizes["val"]
    start = int(np.random.default_rng(rng_seed).integers(0, max(1, size - length + 1)))
    return vocab.decode(read_range(path, "val", start, start + length))
