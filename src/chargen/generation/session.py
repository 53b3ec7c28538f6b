"""Everyday sampling over `Sampler`: seeds from files or stdin, temperature lists, stop strings.

Kept apart from sample.py so the compiled generation loop stays small; nothing here touches
TensorFlow directly, so it is cheap to test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from chargen.errors import ConfigError, UsageProblem
from chargen.text.decode import detect_encoding


def parse_temperatures(text: str) -> list[float]:
    """`"0.8"` or `"0.2,0.5,1.0"` -> floats, each >= 0, in the order given."""
    values: list[float] = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(
                f"--temperature must be a number or a comma-separated list, got {text!r}"
            ) from None
        if not 0 <= value < math.inf:  # inf divides every logit to 0: uniform noise
            raise ConfigError(f"temperature must be a finite number >= 0, got {value}")
        values.append(value)
    return values


def read_seed(seed: str | None, seed_file: Path | None, stdin: IO[str]) -> str:
    """The prime text from `--seed TEXT`, `--seed -` (stdin) or `--seed-file FILE`.

    A file or stdin is used verbatim except for one trailing newline, which editors and `echo`
    add without meaning it as part of the prime.
    """
    if (seed is None) == (seed_file is None):
        raise UsageProblem("give exactly one of --seed and --seed-file")
    if seed_file is not None:
        try:
            data = seed_file.read_bytes()
        except FileNotFoundError:
            raise UsageProblem(f"seed file not found: {seed_file}") from None
        except OSError as exc:
            raise UsageProblem(f"cannot read seed file {seed_file}: {exc.strerror}") from None
        # decoded as a corpus is (byte-order marks, UTF-8, Windows-1252): a mark left in the
        # text would be primed as a character the model never saw
        encoding = detect_encoding([data], str(seed_file), flag=False).encoding
        text = data.decode(encoding, errors="replace")
    elif seed == "-":
        text = stdin.read()
    else:
        assert seed is not None
        return seed
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise UsageProblem(f"the seed from {seed_file or 'stdin'} is empty")
    return text


def cut_at(text: str, stop_at: str | None) -> tuple[str, bool]:
    """`text` up to (not including) the first `stop_at`, and whether it was found."""
    if not stop_at:
        return text, False
    index = text.find(stop_at)
    return (text, False) if index < 0 else (text[:index], True)


def stream_until(
    sampler: Any,
    seed_text: str,
    length: int,
    strategy: Any,
    *,
    stop_at: str | None = None,
    rng_seed: int = 0,
) -> Iterator[str]:
    """One sample's new text piece by piece, ending before the first `stop_at` (if any).

    The last len(stop_at) - 1 characters are held back between chunks, so a stop string split
    across two chunks is still found and never half-printed.
    """
    hold = len(stop_at) - 1 if stop_at else 0
    pending = ""
    for parts in sampler.stream(seed_text, length, strategy, num_samples=1, rng_seed=rng_seed):
        pending, found = cut_at(pending + parts[0], stop_at)
        if found:
            if pending:
                yield pending
            return
        if len(pending) > hold:
            cut = len(pending) - hold
            yield pending[:cut]
            pending = pending[cut:]
    if pending:
        yield pending


def generate_until(
    sampler: Any,
    seed_text: str,
    length: int,
    strategy: Any,
    *,
    num_samples: int = 1,
    stop_at: str | None = None,
    rng_seed: int = 0,
) -> list[str]:
    """Like `Sampler.generate`, cut at `stop_at`, stopping early once every sample has it."""
    texts = [""] * num_samples
    for parts in sampler.stream(
        seed_text, length, strategy, num_samples=num_samples, rng_seed=rng_seed
    ):
        texts = [t + p for t, p in zip(texts, parts, strict=True)]
        if stop_at and all(stop_at in t for t in texts):
            break
    return [cut_at(t, stop_at)[0] for t in texts]


@dataclass
class SampleJob:
    """What one `chargen sample` call writes for each seed: one block per temperature.

    Writes to any text stream (stdout, or a buffer saved atomically), flushing as it streams.
    """

    run: str
    sampler: Any
    length: int
    strategies: list[Any]
    num_samples: int
    rng_seed: int
    stop_at: str | None
    include_seed: bool
    as_json: bool

    def write(self, seed: str, out: TextIO) -> None:
        several = len(self.strategies) > 1
        for strategy in self.strategies:
            if several and not self.as_json:
                out.write(f"--- temperature {strategy.temperature:g}\n")
            prefix = seed if self.include_seed else ""
            if self.as_json or self.num_samples > 1:
                texts = generate_until(
                    self.sampler, seed, self.length, strategy, num_samples=self.num_samples,
                    stop_at=self.stop_at, rng_seed=self.rng_seed,
                )  # fmt: skip
                for i, text in enumerate(texts):
                    if self.as_json:
                        record = {
                            "run": self.run, "seed": seed, "text": text,
                            "temperature": strategy.temperature, "top_k": strategy.top_k,
                            "top_p": strategy.top_p, "rng_seed": self.rng_seed, "sample": i,
                        }  # fmt: skip
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    else:
                        out.write(("\n---\n" if i else "") + _line(prefix + text))
                continue
            out.write(prefix)
            last = prefix
            for piece in stream_until(
                self.sampler, seed, self.length, strategy,
                stop_at=self.stop_at, rng_seed=self.rng_seed,
            ):  # fmt: skip
                out.write(piece)
                out.flush()
                last = piece
            if not last.endswith("\n"):
                out.write("\n")
            out.flush()


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
