"""Loading a run for generation: config, vocabulary and weights checked against each other."""

from __future__ import annotations

from pathlib import Path

from chargen.corpus import CleanOptions, normalise_seed
from chargen.runs import RunDir, read_run_config, resolve_run
from chargen.sample import Sampler
from chargen.vocab import Vocab


def seed_options(vocab: Vocab) -> CleanOptions:
    """The cleaning options recorded with the vocabulary, for normalising seed text."""
    return CleanOptions.from_dict(dict(vocab.normalisation))


def load_sampler(
    run_path: Path | None, runs_root: Path, seed_text: str
) -> tuple[RunDir, Sampler, str]:
    """The run, a sampler over its best weights, and the seed normalised as the corpus was."""
    from chargen.model import load_trained

    run = resolve_run(run_path, runs_root)
    config = read_run_config(run)
    vocab = Vocab.load(run.vocab)
    model = load_trained(
        vocab_size=len(vocab),
        embedding_dim=config.embedding_dim,
        units=config.units,
        layers=config.layers,
        weights=run.weights_for_sampling(),
        layer_units=config.layer_units,
        cell=config.cell,
        layer_norm=config.layer_norm,
    )
    return run, Sampler(model, vocab), normalise_seed(seed_text, seed_options(vocab))
