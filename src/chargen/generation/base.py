"""What both samplers share: the checks of a seed and `generate` over `stream`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chargen.data.vocab import Vocab
from chargen.errors import ConfigError, VocabError
from chargen.generation.strategy import Strategy


def encode_seed(vocab: Vocab, seed_text: str, length: int = 1) -> np.ndarray:
    """The seed's ids, refusing an empty seed, characters the vocabulary cannot stand for and
    a length below one, before any step is taken."""
    if length < 1:
        raise ConfigError(f"length must be at least 1, got {length}")
    if not seed_text:
        raise VocabError("the seed text is empty; give at least one character")
    missing = vocab.missing(seed_text)
    if missing and vocab.unknown is None:
        shown = ", ".join(repr(c) for c in missing[:10])
        raise VocabError(f"seed has characters not in the vocabulary: {shown}")
    return np.asarray(vocab.encode(seed_text))


class TextSampler:
    """A sampler yields each sample's new text piece by piece (`stream`); `generate` joins it."""

    vocab: Vocab

    def stream(
        self,
        seed_text: str,
        length: int,
        strategy: Strategy,
        *,
        num_samples: int = 1,
        rng_seed: int = 0,
    ) -> Iterator[list[str]]:
        raise NotImplementedError

    def generate(
        self,
        seed_text: str,
        length: int,
        strategy: Strategy,
        *,
        num_samples: int = 1,
        rng_seed: int = 0,
    ) -> list[str]:
        parts = list(
            self.stream(seed_text, length, strategy, num_samples=num_samples, rng_seed=rng_seed)
        )
        return ["".join(p[i] for p in parts) for i in range(num_samples)]
