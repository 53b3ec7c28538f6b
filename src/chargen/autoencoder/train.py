"""Training the autoencoder: one epoch is every training word once, shuffled, with fresh
noise; after it, validation, weights and a checkpoint, so --resume continues from there."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from chargen.autoencoder.config import AutoencoderConfig
from chargen.autoencoder.model import Parts, build_for, masked_loss
from chargen.autoencoder.run import read_config, read_train_counts, read_words
from chargen.autoencoder.score import Arrays, forward_fn, measure
from chargen.autoencoder.words import PAD
from chargen.data.vocab import Vocab
from chargen.files import atomic_path, remove_stale_temporaries
from chargen.runs.lock import run_lock
from chargen.runs.rundir import RunDir, write_metric_rows
from chargen.runtime import import_tensorflow
from chargen.train.checkpoint import load_checkpoint, save_checkpoint
from chargen.train.controls import StopSignal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochRow:
    """One row of an autoencoder's metrics.csv; accuracies exclude padding."""

    epoch: int
    train_loss: float
    val_loss: float
    val_char_acc: float
    val_word_acc: float  # exact words among held-out word types
    train_word_acc: float
    val_noisy_word_acc: float  # with the run's noise (a fixed draw); = val_word_acc without
    words_per_s: float
    seconds: float


ROW_FIELDS = [f.name for f in fields(EpochRow)]


@dataclass(frozen=True)
class TrainSummary:
    epochs_done: int
    best_val_word_acc: float  # with the run's noise, as best.weights.h5 is chosen
    stopped: str | None  # "interrupted", "max_time", or None when every epoch ran
    seconds: float
    trained: int = 0  # epochs this call trained: 0 for a resume of a finished run


def train_autoencoder(
    run: RunDir,
    *,
    epochs: int | None = None,
    max_time: float | None = None,
    on_epoch: Callable[[EpochRow], None] | None = None,
) -> TrainSummary:
    """Train the run in `run` from its checkpoint (or from the start) to `epochs` epochs.

    Stopping (Ctrl-C, SIGTERM, max_time) inside an epoch checkpoints the weights it reached;
    resume runs that epoch again from its start, so every metrics row is a whole epoch.
    """
    import_tensorflow(training=True)
    import keras
    import tensorflow as tf

    config = read_config(run).replace(epochs=epochs, max_time=max_time)
    vocab = Vocab.load(run.vocab)
    train_words, val_words = read_words(run)
    keras.utils.set_random_seed(config.rng_seed)
    parts = build_for(config, vocab)
    optimizer = keras.optimizers.Adam(
        config.learning_rate, global_clipnorm=config.clip_norm or None
    )
    parts.model.compile(optimizer=optimizer)
    with run_lock(run.path):
        remove_stale_temporaries(run.path)
        position: dict[str, Any] = {"epoch": 0}
        if run.checkpoint.is_file():
            position = load_checkpoint(
                run.checkpoint, parts.model, config=config.to_dict(), vocab_json=vocab.to_json()
            )
        rng = np.random.default_rng(config.rng_seed)
        if "rng" in position:
            rng.bit_generator.state = position["rng"]
        history = [EpochRow(**r) for r in position.get("history", [])]
        counts = read_train_counts(run) if config.frequency_weighted else None
        words = (train_words, val_words, counts)
        return _loop(run, config, vocab, parts, rng, history, on_epoch, tf, words)


def _step_fn(parts: Parts, tf: Any) -> Callable[..., Any]:
    """One optimizer step on a batch, traced once for any batch and word length."""
    model, optimizer = parts.model, parts.model.optimizer

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)] * 3)
    def step(enc: Any, dec: Any, target: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = masked_loss(target, model([enc, dec], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


def _run_epoch(
    step: Callable[..., Any],
    train: Arrays,
    order: npt.NDArray[np.int64],
    config: AutoencoderConfig,
    rng: np.random.Generator,
    stop: Callable[[], str | None],
) -> tuple[float, str | None]:
    """Mean training loss per real symbol, and why the epoch stopped early (None: it ended)."""
    loss_sum, loss_weight = 0.0, 0
    for start in range(0, len(order), config.batch_size):
        enc, dec, target = train.batch(order[start : start + config.batch_size], config.noise, rng)
        real = int((target != PAD).sum())
        loss_sum += float(step(enc, dec, target)) * real
        loss_weight += real
        stopped = stop()
        if stopped:
            return loss_sum / max(loss_weight, 1), stopped
    return loss_sum / max(loss_weight, 1), None


def _loop(
    run: RunDir,
    config: AutoencoderConfig,
    vocab: Vocab,
    parts: Parts,
    rng: np.random.Generator,
    history: list[EpochRow],
    on_epoch: Callable[[EpochRow], None] | None,
    tf: Any,
    words: tuple[list[str], list[str], list[int] | None],
) -> TrainSummary:
    step, forward = _step_fn(parts, tf), forward_fn(parts)
    train_words, val_words, counts = words
    train, val = Arrays.of(train_words, vocab), Arrays.of(val_words, vocab)
    # every token once (frequency_weighted), else every word type once
    pool = np.repeat(np.arange(len(train_words)), counts) if counts else np.arange(len(train_words))
    started, stopped, done = time.monotonic(), None, len(history)
    # best weights: most held-out words right with the run's noise (clean words without it)
    best = max((r.val_noisy_word_acc for r in history), default=-1.0)
    with StopSignal().installed() as signal:

        def stop() -> str | None:
            if signal.signum is not None:
                return "interrupted"
            if config.max_time and time.monotonic() - started > config.max_time:
                return "max_time"
            return None

        while len(history) < config.epochs and stopped is None:
            epoch_start = time.monotonic()
            loss, stopped = _run_epoch(step, train, rng.permutation(pool), config, rng, stop)
            if stopped:  # the epoch is unfinished: keep its weights, rerun it on resume
                _save(run, parts, vocab, config, rng, history)
                break
            row = _epoch_row(len(history) + 1, loss, time.monotonic() - epoch_start)
            row = _validate(row, forward, train, val, config, len(pool))
            history.append(row)
            if row.val_noisy_word_acc > best:
                best = row.val_noisy_word_acc
                _save_weights(parts, run.best_weights)
            _save(run, parts, vocab, config, rng, history)
            if on_epoch is not None:
                on_epoch(row)
    if not run.best_weights.is_file():
        _save_weights(parts, run.best_weights)
    return TrainSummary(
        len(history), max(best, 0.0), stopped, time.monotonic() - started, len(history) - done
    )


def _epoch_row(epoch: int, train_loss: float, seconds: float) -> EpochRow:
    return EpochRow(epoch, train_loss, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, seconds)


def _validate(
    row: EpochRow,
    forward: Callable[..., Any],
    train: Arrays,
    val: Arrays,
    config: AutoencoderConfig,
    n_train: int,
) -> EpochRow:
    """Fill in the validation figures; noisy validation draws the same deletions each epoch
    (a fixed seed), so its rise is the model's, not the dice's."""
    val_loss, val_counts = measure(forward, val)
    _, train_counts = measure(forward, train)
    noisy = val_counts
    if config.noise:
        _, noisy = measure(forward, val, noise=config.noise, rng=np.random.default_rng(1))
    values = asdict(row) | {
        "val_loss": val_loss,
        "val_char_acc": val_counts.char_accuracy,
        "val_word_acc": val_counts.word_accuracy,
        "train_word_acc": train_counts.word_accuracy,
        "val_noisy_word_acc": noisy.word_accuracy,
        "words_per_s": n_train / row.seconds if row.seconds > 0 else 0.0,
    }
    return EpochRow(**values)


def _save_weights(parts: Parts, path: Any) -> None:
    with atomic_path(path) as tmp:
        parts.model.save_weights(tmp)


def _save(
    run: RunDir,
    parts: Parts,
    vocab: Vocab,
    config: AutoencoderConfig,
    rng: np.random.Generator,
    history: list[EpochRow],
) -> None:
    """Weights, then metrics, then the checkpoint that names them: each file atomic."""
    _save_weights(parts, run.last_weights)
    write_metric_rows(run, ROW_FIELDS, [asdict(r) for r in history])
    position = {
        "epoch": len(history),
        "history": [asdict(r) for r in history],
        "rng": rng.bit_generator.state,
    }
    save_checkpoint(
        run.checkpoint,
        parts.model,
        position,
        config_json=config.to_json(),
        vocab_json=vocab.to_json(),
    )
