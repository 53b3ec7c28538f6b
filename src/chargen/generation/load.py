"""Loading a run for generation: config, vocabulary and weights checked against each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chargen.data.vocab import Vocab
from chargen.errors import VocabError
from chargen.generation.sampler import Sampler
from chargen.runs.rundir import RunDir, read_run_config, resolve_run
from chargen.text.clean import CleanOptions, normalise_seed


def seed_options(vocab: Vocab) -> CleanOptions:
    """The cleaning options recorded with the vocabulary, for normalising seed text."""
    return CleanOptions.from_dict(dict(vocab.normalisation))


def load_sampler(
    run_path: Path | None, runs_root: Path, seed_text: str
) -> tuple[RunDir, Sampler, str]:
    """The run, a sampler over its best weights, and the seed normalised as the corpus was."""
    run, model, vocab = load_run_model(run_path, runs_root)
    return run, Sampler(model, vocab), prepare_seed(seed_text, seed_options(vocab))


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
    model = load_trained(
        vocab_size=len(vocab),
        embedding_dim=config.embedding_dim,
        units=config.units,
        layers=config.layers,
        weights=weights,
        layer_units=config.layer_units,
        cell=config.cell,
        layer_norm=config.layer_norm,
    )
    return run, model, vocab
