"""A smoothed character n-gram on the same prepared data: what the LSTM buys over counting.

Witten-Bell interpolation: each context's estimate is mixed with the next shorter context's in
proportion to how many distinct characters followed it, down to an add-one unigram, so unseen
characters never get probability zero and the validation figure is a true bits-per-character.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chargen.data.prepared import read_ids
from chargen.errors import ConfigError

MAX_ORDER = 12


@dataclass(frozen=True)
class BaselineResult:
    order: int
    val_bpc: float
    unigram_bpc: float
    train_chars: int
    val_chars: int
    seconds: float


class NGram:
    """Counts of every context of 0..order-1 preceding characters and what followed them."""

    def __init__(self, ids: Sequence[int], order: int, vocab_size: int) -> None:
        if not 1 <= order <= MAX_ORDER:
            raise ConfigError(f"order must be between 1 and {MAX_ORDER}, got {order}")
        self.order, self.vocab_size = order, vocab_size
        self.tables: list[dict[tuple[int, ...], Counter[int]]] = [
            defaultdict(Counter) for _ in range(order)
        ]
        for i, c in enumerate(ids):
            for k in range(min(i, order - 1) + 1):
                self.tables[k][tuple(ids[i - k : i])][c] += 1
        self.totals = [{h: sum(d.values()) for h, d in t.items()} for t in self.tables]

    def prob(self, context: Sequence[int], c: int) -> float:
        """P(c | context), interpolated from the unigram up to the longest seen context."""
        unigram = self.tables[0][()]
        p = (unigram[c] + 1) / (self.totals[0][()] + self.vocab_size)
        for k in range(1, min(len(context), self.order - 1) + 1):
            h = tuple(context[len(context) - k :])
            followers = self.tables[k].get(h)
            if not followers:
                break  # a longer context containing this one cannot have been seen either
            types = len(followers)
            p = (followers[c] + types * p) / (self.totals[k][h] + types)
        return p

    def bits_per_char(self, ids: Sequence[int]) -> float:
        """Average -log2 P over `ids`, each character predicted from those before it."""
        total = 0.0
        for i, c in enumerate(ids):
            context = ids[max(0, i - self.order + 1) : i]
            total -= math.log2(self.prob(context, c))
        return total / max(len(ids), 1)


def run_baseline(path: Path, order: int, vocab_size: int) -> BaselineResult:
    """Fit on the train split of a prepared file and score its val split."""
    start = time.perf_counter()
    train = read_ids(path, "train").tolist()
    val = read_ids(path, "val").tolist()
    model = NGram(train, order, vocab_size)
    val_bpc = model.bits_per_char(val)
    seconds = time.perf_counter() - start
    unigram = NGram(train, 1, vocab_size).bits_per_char(val) if order > 1 else val_bpc
    return BaselineResult(
        order=order,
        val_bpc=val_bpc,
        unigram_bpc=unigram,
        train_chars=len(train),
        val_chars=len(val),
        seconds=seconds,
    )
