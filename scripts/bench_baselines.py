"""The baselines `bench.py` measures chargen against, written out plainly.

1. The classic tutorial: 100-character windows predicting one character, inputs as
   `id / vocab_size` floats, one-hot targets, LSTM(256) + Dropout(0.2), batch 128, and sampling
   by re-running `model.predict` on the last 100 characters for every new character.
2. chargen's architecture in plain PyTorch (optional: skipped when torch is not installed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

WINDOW = 100
TUTORIAL_BATCH = 128

Ids = npt.NDArray[np.int32]


# --- the tutorial -------------------------------------------------------------------------------
def tutorial_model(vocab_size: int) -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input((WINDOW, 1)),
            keras.layers.LSTM(256),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(vocab_size, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def tutorial_batch(
    ids: Ids, vocab_size: int, batch: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """X [batch, 100, 1] as id / vocab floats; Y [batch, vocab] one-hot of the next id."""
    starts = rng.integers(0, len(ids) - WINDOW, size=batch)
    x = np.stack([ids[s : s + WINDOW] for s in starts]).astype(np.float32) / vocab_size
    y = np.zeros((batch, vocab_size), np.float32)
    y[np.arange(batch), ids[starts + WINDOW]] = 1.0
    return x[:, :, None], y


def tutorial_train(
    model: Any, ids: Ids, vocab_size: int, *, steps: int | None, seconds: float | None, seed: int
) -> float:
    """Train for `steps` batches or `seconds`; return predicted characters per second."""
    rng = np.random.default_rng(seed)
    done, start = 0, time.perf_counter()
    while (steps is None or done < steps) and (
        seconds is None or time.perf_counter() - start < seconds
    ):
        model.train_on_batch(*tutorial_batch(ids, vocab_size, TUTORIAL_BATCH, rng))
        done += 1
    return done * TUTORIAL_BATCH / (time.perf_counter() - start)


def tutorial_bpc(model: Any, ids: Ids, vocab_size: int, *, positions: int, seed: int) -> float:
    """Bits per character on `positions` random validation positions, each with 100 chars of
    context (more context than a many-to-many model has on average: favours the tutorial)."""
    x, y = tutorial_batch(ids, vocab_size, positions, np.random.default_rng(seed))
    probs = model.predict(x, batch_size=512, verbose=0)
    p = np.maximum(probs[np.arange(positions), y.argmax(axis=1)], 1e-12)
    return float(-np.mean(np.log2(p)))


def tutorial_sample(model: Any, seed_ids: Ids, vocab_size: int, length: int) -> list[int]:
    """The tutorial's sampler: one `predict` over the last 100 characters per new character."""
    rng = np.random.default_rng(0)
    window = list(seed_ids[-WINDOW:])
    out = []
    for _ in range(length):
        x = np.array(window[-WINDOW:], np.float32)[None, :, None] / vocab_size
        probs = model.predict(x, verbose=0)[0].astype(np.float64)
        nxt = int(rng.choice(len(probs), p=probs / probs.sum()))
        out.append(nxt)
        window.append(nxt)
    return out


# --- PyTorch ------------------------------------------------------------------------------------
def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_model(
    vocab_size: int,
    embedding_dim: int,
    units: int,
    layers: int,
    dropout: float,
    *,
    tie: bool = False,
) -> Any:
    """Embedding -> N x LSTM with dropout after each -> Linear, as chargen's build_model.

    `tie` shares the embedding with the output layer (Press and Wolf's tying, through a
    bias-free projection to the embedding's width): a choice chargen does not offer, measured
    here so that the reason is a figure (bench_tuning --torch)."""
    import torch
    from torch import nn

    class CharLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vocab_size = vocab_size
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(
                embedding_dim, units, num_layers=layers, dropout=dropout, batch_first=True
            )
            self.drop = nn.Dropout(dropout)
            if tie:
                self.project = nn.Linear(units, embedding_dim, bias=False)
                self.bias = nn.Parameter(torch.zeros(vocab_size))
            else:
                self.logits = nn.Linear(units, vocab_size)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, _ = self.lstm(self.embedding(x))
            h = self.drop(h)
            if tie:
                return nn.functional.linear(self.project(h), self.embedding.weight, self.bias)
            return self.logits(h)

    return CharLSTM()


def torch_windows(ids: Ids, seq_len: int, batch: int, rng: np.random.Generator) -> Any:
    import torch

    starts = rng.integers(0, len(ids) - seq_len - 1, size=batch)
    w = np.stack([ids[s : s + seq_len + 1] for s in starts]).astype(np.int64)
    return torch.from_numpy(w[:, :-1]), torch.from_numpy(w[:, 1:])


def torch_train(
    model: Any,
    ids: Ids,
    *,
    seq_len: int,
    batch: int,
    learning_rate: float,
    clip_norm: float,
    steps: int | None,
    seconds: float | None,
    seed: int,
    lr_at: Callable[[float], float] | None = None,
) -> float:
    """Adam + global-norm clipping, many-to-many loss; returns predicted characters per second.
    `lr_at(seconds into this call)` sets the rate before each step, for a budget's schedule."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = getattr(model, "_bench_opt", None) or torch.optim.Adam(
        model.parameters(), lr=learning_rate
    )
    model._bench_opt = opt
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    done, start = 0, time.perf_counter()
    while (steps is None or done < steps) and (
        seconds is None or time.perf_counter() - start < seconds
    ):
        x, y = torch_windows(ids, seq_len, batch, rng)
        if lr_at is not None:
            for group in opt.param_groups:
                group["lr"] = lr_at(time.perf_counter() - start)
        opt.zero_grad()
        loss = loss_fn(model(x).reshape(-1, model.vocab_size), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        done += 1
    return done * batch * seq_len / (time.perf_counter() - start)


def torch_bpc(model: Any, ids: Ids, *, seq_len: int, batch: int) -> float:
    """Bits per character over consecutive validation windows, as chargen's val_bpc."""
    import torch

    n = (len(ids) - 1) // seq_len
    w = np.lib.stride_tricks.sliding_window_view(ids, seq_len + 1)[::seq_len][:n]
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for b in range(0, n, batch):
            chunk = torch.from_numpy(np.ascontiguousarray(w[b : b + batch]).astype(np.int64))
            logits = model(chunk[:, :-1])
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="sum"
            )
            total += float(loss)
            count += chunk[:, 1:].numel()
    return total / count / math.log(2)


# --- shared by the sections ---------------------------------------------------------------------
def split_ids(prepared: Any, split: str) -> Ids:
    from chargen.data.prepared import read_ids

    return read_ids(prepared.path, split)


def torch_config_model(vocab: int, config: Any, *, tie: bool = False) -> Any:
    """chargen's `config` model written plainly in PyTorch."""
    return torch_model(
        vocab, config.embedding_dim, config.units, config.layers, config.dropout, tie=tie
    )


def torch_config_train(
    model: Any,
    ids: Ids,
    config: Any,
    *,
    steps: int | None,
    seconds: float | None,
    seed: int,
    lr_at: Callable[[float], float] | None = None,
) -> float:
    """The PyTorch baseline trained with the config's sequence, batch, learning rate and clip."""
    return torch_train(
        model,
        ids,
        seq_len=config.seq_len,
        batch=config.batch_size,
        learning_rate=config.learning_rate,
        clip_norm=config.clip_norm,
        steps=steps,
        seconds=seconds,
        seed=seed,
        lr_at=lr_at,
    )
