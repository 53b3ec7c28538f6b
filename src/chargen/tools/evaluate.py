"""Honest loss figures: nats and bits per character and perplexity, on a split or any text.

Scoring uses the windows training validates on (seq_len inputs, the next character as target),
summed in float64 outside Keras' metric trackers so it can run in the middle of `fit`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.data.prepared import open_prepared, read_ids
from chargen.data.vocab import Vocab
from chargen.errors import RunError
from chargen.model.score import LN2, make_scorer, score_batches
from chargen.runs.rundir import prepared_path, read_meta, read_run_config


@dataclass(frozen=True)
class Evaluation:
    run: str
    source: str
    chars: int  # characters scored (targets)
    oov_chars: int  # characters outside the run's vocabulary, skipped
    oov_set: str
    nats_per_char: float
    bits_per_char: float
    perplexity: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def text_ids(text: str, vocab: Vocab) -> tuple[npt.NDArray[np.int32], int, str]:
    """Ids of `text` with characters outside `vocab` dropped, and how many and which they were."""
    missing = set(vocab.missing(text))
    if missing and vocab.unknown is None:
        kept = "".join(c for c in text if c not in missing)
        oov = len(text) - len(kept)
    else:
        kept, oov = text, sum(text.count(c) for c in missing)
    return vocab.encode(kept), oov, "".join(sorted(missing))


def ids_loss(
    scorer: Any, ids: npt.NDArray[np.int32], seq_len: int, batch_size: int
) -> tuple[float, int]:
    """Windows of seq_len + 1 ids, stride seq_len, the tail as one shorter window."""
    starts = list(range(0, max(0, len(ids) - 1), seq_len))
    total, count = 0.0, 0
    full = [s for s in starts if s + seq_len + 1 <= len(ids)]
    for i in range(0, len(full), batch_size):
        w = np.stack([ids[s : s + seq_len + 1] for s in full[i : i + batch_size]])
        t, n = score_batches(scorer, [(w[:, :-1], w[:, 1:])])
        total, count = total + t, count + n
    tail = [s for s in starts if s + seq_len + 1 > len(ids)]
    if tail:
        w = ids[tail[0] :][None, :]
        t, n = score_batches(scorer, [(w[:, :-1], w[:, 1:])])
        total, count = total + t, count + n
    return total, count


def evaluate_run(
    run_path: Path | None,
    runs_root: Path,
    *,
    text: str | None = None,
    source: str | None = None,
    data: Path | None = None,
) -> Evaluation:
    """Score a run's best weights on `text`, on the val split of `data`, or on its own val."""
    from chargen.generation.load import load_run_model

    run, model, vocab = load_run_model(run_path, runs_root)
    config = read_run_config(run)
    oov, oov_set = 0, ""
    if text is not None:
        ids, oov, oov_set = text_ids(text, vocab)
        label = source or "text"
    else:
        path = data if data is not None else prepared_path(run)
        prepared = open_prepared(path)
        if data is None and read_meta(run).get("source_sha256") != prepared.sha256:
            # the file was prepared again from other text since: its val split is not the run's
            raise RunError(
                f"{path} holds other text than the run {run.path} was trained on; "
                "pass --data or --corpus to score it anyway"
            )
        raw = read_ids(path, "val")
        if prepared.vocab == vocab:
            ids = raw
        else:
            ids, oov, oov_set = text_ids(prepared.vocab.decode(raw), vocab)
        label = f"{path} (val split)"
    total, count = ids_loss(make_scorer(model), ids, config.seq_len, config.batch_size)
    if count == 0:
        raise RunError(f"nothing to evaluate in {label}: fewer than 2 characters in vocabulary")
    nats = total / count
    return Evaluation(
        run=str(run.path),
        source=label,
        chars=count,
        oov_chars=oov,
        oov_set=oov_set,
        nats_per_char=nats,
        bits_per_char=nats / LN2,
        perplexity=math.exp(nats),
    )


def load_corpus_text(
    run_path: Path | None, runs_root: Path, spec: str, *, data_dir: Path, mirror: str | None
) -> str:
    """`spec` cleaned with the run's options; the run's vocabulary then decides what is scored.

    Cleaned directly rather than prepared: a prepared file needs a train and a val split,
    which a short text to score has no use for.
    """
    from chargen.generation.load import seed_options
    from chargen.runs.rundir import resolve_run
    from chargen.text.sources import load_corpus

    run = resolve_run(run_path, runs_root)
    vocab = Vocab.load(run.vocab)
    corpus = load_corpus(spec, seed_options(vocab), data_dir=data_dir, mirror=mirror)
    return "".join(corpus.chunks())
