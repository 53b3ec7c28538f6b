"""Reading a trained autoencoder back: thought vectors, and words written back from them by
greedy or beam search, all words of a text in one batched pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.autoencoder.config import AutoencoderConfig
from chargen.autoencoder.model import Parts, build_for
from chargen.autoencoder.run import read_config, resolve_autoencoder_run
from chargen.autoencoder.words import (
    END,
    PAD,
    START,
    check_chars,
    decode_symbols,
    encode_words,
    word_spans,
)
from chargen.data.vocab import Vocab
from chargen.errors import UsageProblem
from chargen.runs.rundir import RunDir
from chargen.runtime import import_tensorflow

BATCH = 4096  # words per encoder call: large batches are what makes 10,000 words fast


@dataclass(frozen=True)
class Trained:
    run: RunDir
    config: AutoencoderConfig
    vocab: Vocab
    parts: Parts


@dataclass(frozen=True)
class Reconstruction:
    input: str
    output: str
    log_prob: float  # of `output` (with its END) under the decoder, natural log


def load_trained(run_path: Path | None, runs_root: Path) -> Trained:
    """The run's model with its best weights (the last ones when it never validated)."""
    run = resolve_autoencoder_run(run_path, runs_root)
    config = read_config(run)
    vocab = Vocab.load(run.vocab)
    weights = run.weights_for_sampling()
    import_tensorflow()
    parts = build_for(config, vocab)
    parts.model.load_weights(weights)
    return Trained(run, config, vocab, parts)


def prepare_words(trained: Trained, words: Sequence[str], *, skip_unknown: bool) -> list[str]:
    """Lowercased as the run was trained, checked against its vocabulary."""
    words = [w.lower() for w in words] if trained.config.lowercase else list(words)
    return check_chars(words, trained.vocab, skip=skip_unknown)


def encode(trained: Trained, words: Sequence[str]) -> npt.NDArray[np.float32]:
    """Thought vectors, one row per word (the encoder reads each word reversed)."""
    rows = []
    for start in range(0, len(words), BATCH):
        ids = encode_words(words[start : start + BATCH], trained.vocab, reverse=True)
        rows.append(np.asarray(trained.parts.encoder(ids, training=False)))
    width = trained.parts.encoder.output_shape[-1]
    return np.concatenate(rows) if rows else np.zeros((0, width), np.float32)


def _step_fn(parts: Parts) -> Any:
    import tensorflow as tf

    units = parts.cell.units
    spec = [
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None, units], tf.float32),
        tf.TensorSpec([None, units], tf.float32),
    ]

    @tf.function(input_signature=spec)
    def step(symbols: Any, h: Any, c: Any) -> Any:
        x = tf.gather(parts.embedding.embeddings, symbols)  # no mask: a cell takes none
        out, (h, c) = parts.cell(x, [h, c], training=False)
        return tf.nn.log_softmax(parts.logits(out)), h, c

    return step


def decode(
    trained: Trained, thoughts: npt.NDArray[np.float32], *, max_len: int, beam: int = 1
) -> list[tuple[list[int], float]]:
    """Symbols and log-probability of each thought's word, greedy (`beam` 1) or beam search."""
    step = _step_fn(trained.parts)
    out: list[tuple[list[int], float]] = []
    for start in range(0, len(thoughts), BATCH):
        h, c = (np.asarray(s) for s in trained.parts.initial_state(thoughts[start : start + BATCH]))
        out.extend(_beam(step, h, c, max_len=max_len, beam=beam))
    return out


def _beam(
    step: Any, h: npt.NDArray[np.float32], c: npt.NDArray[np.float32], *, max_len: int, beam: int
) -> list[tuple[list[int], float]]:
    """Batched beam search over [words x beam] rows; a finished beam keeps its score by
    "writing" PAD at no cost, so finished and open beams compete on one ranking."""
    n, k = len(h), beam
    h, c = np.repeat(h, k, axis=0), np.repeat(c, k, axis=0)
    score = np.full((n, k), -np.inf, dtype=np.float64)
    score[:, 0] = 0.0  # one live beam at the start: the others would duplicate it
    seqs = np.zeros((n, k, 0), dtype=np.int32)
    last = np.full(n * k, START, dtype=np.int32)
    done = np.zeros((n, k), dtype=bool)
    for _ in range(max_len + 1):
        logp, h_new, c_new = (np.asarray(t) for t in step(last, h, c))
        logp = logp.astype(np.float64).reshape(n, k, -1)
        logp[..., [PAD, START]] = -np.inf  # an open word never pads or restarts
        logp[done] = -np.inf
        logp[done, PAD] = 0.0
        vocab = logp.shape[-1]
        total = (score[..., None] + logp).reshape(n, -1)
        best = np.argsort(-total, axis=1, kind="stable")[:, :k]
        origin, symbol = best // vocab, (best % vocab).astype(np.int32)
        score = np.take_along_axis(total, best, axis=1)
        rows = (np.arange(n)[:, None] * k + origin).reshape(-1)
        h, c = np.asarray(h_new)[rows], np.asarray(c_new)[rows]
        seqs = np.concatenate(
            [np.take_along_axis(seqs, origin[..., None], 1), symbol[..., None]], 2
        )
        done = np.take_along_axis(done, origin, axis=1) | (symbol == END) | (symbol == PAD)
        last = symbol.reshape(-1)
        if done.all():
            break
    top = np.argmax(score, axis=1)
    return [(seqs[i, top[i]].tolist(), float(score[i, top[i]])) for i in range(n)]


def reconstruct_words(
    trained: Trained, words: Sequence[str], *, beam: int = 1, skip_unknown: bool = False
) -> list[Reconstruction]:
    """Each word through encoder and decoder, all in one batched pass."""
    if beam < 1:
        raise UsageProblem(f"--beam must be at least 1, got {beam}")
    clean = prepare_words(trained, words, skip_unknown=skip_unknown)
    if not clean:
        return []
    thoughts = encode(trained, clean)
    longest = max(len(w) for w in clean)
    decoded = decode(
        trained, thoughts, max_len=max(trained.config.max_word_len, longest) + 1, beam=beam
    )
    return [
        Reconstruction(w, _recase(w, decode_symbols(s, trained.vocab)), lp)
        for w, (s, lp) in zip(words, decoded, strict=True)
    ]


def _recase(original: str, word: str) -> str:
    """A lowercase model's output in the input's case: "HAMLET" stays upper, "To" title."""
    if len(original) > 1 and original.isupper():
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def reconstruct_text(
    trained: Trained, text: str, *, beam: int = 1, skip_unknown: bool = False
) -> tuple[str, list[Reconstruction]]:
    """The text with every word replaced by its reconstruction, and the text between words
    (spaces, punctuation, newlines) kept as it was."""
    spans = word_spans(text)
    if not spans:
        raise UsageProblem("the text has no words (NLTK \\w+) to reconstruct")
    found = reconstruct_words(
        trained, [text[a:b] for a, b in spans], beam=beam, skip_unknown=skip_unknown
    )
    pieces, at = [], 0
    for (a, b), rec in zip(spans, found, strict=True):
        pieces += [text[at:a], rec.output]
        at = b
    pieces.append(text[at:])
    return "".join(pieces), found
