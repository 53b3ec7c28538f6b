"""Honest loss figures: nats and bits per character and perplexity, on a split or any text.

Scoring uses the windows training validates on (seq_len inputs, the next character as target),
summed in float64 outside Keras' metric trackers so it can run in the middle of `fit`. With
`carry_state` the text is read instead as the sampler reads it, the state carried from each
character to the next (char-rnn's measure), in numpy: each window's first characters then keep
their context, so the figure is lower by what the windows' cold starts cost.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.config import Config
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
    context: str  # how the text was read: windows from a zero state, or the state carried

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


# Carried-state scoring steps consecutive streams side by side, each from a zero state, for
# the speed of a batch: streams of at least MIN_STREAM characters keep those cold starts to a
# few in a thousand characters.
MAX_STREAMS = 64
MIN_STREAM = 1000


def stream_loss(
    sampler: Any, ids: npt.NDArray[np.integer], streams: int, reset: int | None = None
) -> tuple[float, int]:
    """Summed nats and count of `ids` cut into `streams` consecutive rows stepped side by side
    by a numpy sampler, the states zeroed every `reset` characters (None: carried throughout).
    The last `len(ids) - 1` modulo `streams` targets are left out, so every row is as long."""
    n = (len(ids) - 1) // streams
    x = ids[: n * streams].reshape(streams, n)
    y = ids[1 : n * streams + 1].reshape(streams, n)
    rows = np.arange(streams)
    states = sampler.zero_states(streams)
    total = 0.0
    for t in range(n):
        if reset and t % reset == 0:
            states = sampler.zero_states(streams)
        logits, states = sampler.step(x[:, t], states)
        z = logits.astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        total += float((np.log(np.exp(z).sum(axis=1)) - z[rows, y[:, t]]).sum())
    return total, n * streams


def carried_streams(chars: int) -> int:
    """How many streams carried-state scoring cuts `chars` characters into."""
    return max(1, min(MAX_STREAMS, chars // MIN_STREAM))


def _score(
    model: Any, ids: npt.NDArray[np.int32], config: Config, carry_state: bool
) -> tuple[float, int, str]:
    """Summed nats, targets scored, and how the text was read."""
    if not carry_state:
        total, count = ids_loss(make_scorer(model), ids, config.seq_len, config.batch_size)
        return total, count, f"windows of {config.seq_len} characters, each from a zero state"
    streams = carried_streams(len(ids) - 1)
    total, count = stream_loss(model, ids.astype(np.int64), streams) if len(ids) > 1 else (0.0, 0)
    rows = f"{streams} streams" if streams > 1 else "1 stream"
    return total, count, f"state carried, {rows} of {count // streams:,} characters"


def evaluate_run(
    run_path: Path | None,
    runs_root: Path,
    *,
    text: str | None = None,
    source: str | None = None,
    data: Path | None = None,
    carry_state: bool = False,
) -> Evaluation:
    """Score a run's best weights on `text`, on the val split of `data`, or on its own val;
    in windows as training validates, or with `carry_state` as one read of the text."""
    if carry_state:
        from chargen.generation.load import load_numpy_sampler

        run, model = load_numpy_sampler(run_path, runs_root, threads=None)
        vocab = model.vocab
    else:
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
    total, count, context = _score(model, ids, config, carry_state)
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
        context=context,
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
