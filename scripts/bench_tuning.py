"""Preset tuning at equal work: variants of one preset, each trained from the same seed on
the same characters (`--chars`, so a machine's load changes the time, never the answer),
reporting the validation bits per character each ends on and its training rate. Quality per
minute is then the first figure at the characters the second buys in the budget.

    python scripts/bench_tuning.py --corpus ../shared/corpora/tinyshakespeare.txt \\
        --chars 2000000 --variant base= --variant b32=batch_size=32 \\
        --variant wide=units=384,dropout=0

With `--budget SECONDS` each variant trains for that wall time instead (its `--max-time`, so a
budget schedule applies): equal time, as a user trains, but only on a quiet machine. Schedules
compare that way:

    python scripts/bench_tuning.py --corpus ../shared/corpora/tinyshakespeare.txt --budget 600 \
        --variant constant=lr_schedule=constant --variant anneal=lr_schedule=anneal \
        --variant cosine=lr_schedule=cosine

With `--torch` (and `--budget`) each variant trains the same model written in PyTorch on
chargen's budget schedule instead, for choices chargen does not offer: `tie=true` shares the
embedding with the output layer.

    python scripts/bench_tuning.py --corpus ../shared/corpora/tinyshakespeare.txt --budget 600 \
        --torch --variant untied= --variant tied=tie=true

Keys named `controls.NAME` set a constant of chargen.train.controls for that variant only,
to try a schedule's shape before it becomes an option (`controls.ANNEAL_FRACTION=0.5`).

With `--rate-steps N` each variant is not trained but timed: chars/s over N steps after a
warm-up, as `make bench` measures the preset.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chargen.runtime import import_tensorflow  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """`name=key=value,key=value` -> (name, overrides); values read as JSON where they parse
    (numbers, true/false), else as strings."""
    name, _, spec = text.partition("=")
    overrides: dict[str, Any] = {}
    for item in filter(None, spec.split(",")):
        key, _, raw = item.partition("=")
        try:
            overrides[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key.strip()] = raw.strip()
    return name, overrides


def rate(prepared: object, config: object, args: argparse.Namespace) -> dict[str, float]:
    """Training chars/s of `config` as `make bench` measures it (after a warm-up)."""
    import bench  # scripts/bench.py, beside this file

    return {"rate_chars_per_s": bench.default_rate(prepared, config, args.rate_steps)}


def torch_variant(
    prepared: Any, base: Any, overrides: dict[str, Any], budget: float
) -> dict[str, Any]:
    """The PyTorch model of `base` with `overrides` trained for `budget` seconds (`tie` is the
    model's own option, every other key the config's), scored as chargen scores val_bpc."""
    import bench_baselines as torch_bench
    from bench_quality import _budget_lr

    options = dict(overrides)
    tie = bool(options.pop("tie", False))
    config = dataclasses.replace(base, **options)
    ids, val = torch_bench.split_ids(prepared, "train"), torch_bench.split_ids(prepared, "val")
    net = torch_bench.torch_config_model(len(prepared.vocab), config, tie=tie)
    rate = torch_bench.torch_config_train(
        net,
        ids,
        config,
        steps=None,
        seconds=budget,
        seed=config.rng_seed or 0,
        lr_at=_budget_lr(config, budget, offset=0),
    )
    return {
        "chars": int(rate * budget),
        "val_bpc": torch_bench.torch_bpc(net, val, seq_len=config.seq_len, batch=256),
        "train_chars_per_s": rate,
    }


def budgeted(base: Any, overrides: dict[str, Any], args: argparse.Namespace) -> Any:
    """The variant with its budget: `--budget` seconds, or the steps that make `--chars`."""
    if args.budget:
        return dataclasses.replace(base, **overrides, max_time=args.budget)
    shape = dataclasses.replace(base, **{**overrides, "lr_schedule": "constant"})
    steps = max(1, args.chars // (shape.batch_size * shape.seq_len))
    return dataclasses.replace(base, **overrides, max_steps=steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--config", default="default", help="preset name or TOML path")
    parser.add_argument("--chars", type=int, default=2_000_000, help="training characters each")
    parser.add_argument(
        "--budget", type=float, help="seconds of wall time each, instead of --chars"
    )
    parser.add_argument("--variant", action="append", default=[], help="name=key=value,...")
    parser.add_argument("--out", type=Path, help="JSON lines, one per finished variant")
    parser.add_argument(
        "--rate-steps",
        type=int,
        help="instead of training: each variant's chars/s over this many steps after warm-up",
    )
    parser.add_argument(
        "--torch", action="store_true", help="train the PyTorch model instead (needs --budget)"
    )
    args = parser.parse_args(argv)
    if args.torch and not args.budget:
        parser.error("--torch trains for a --budget")
    import_tensorflow(training=True)
    from chargen.config import load_config
    from chargen.data.prepare import prepare_corpus
    from chargen.runs.rundir import create_run_dir
    from chargen.text.clean import CleanOptions
    from chargen.train.run import train

    work = Path(tempfile.mkdtemp(prefix="chargen-tuning-"))
    prepared = prepare_corpus(
        str(args.corpus), CleanOptions(), val_fraction=0.1, data_dir=work / "data"
    ).prepared
    base = dataclasses.replace(load_config(args.config), rng_seed=0, epochs=10_000)
    for name, overrides in map(parse_variant, args.variant or ["base="]):
        constants = {k: v for k, v in overrides.items() if k.startswith("controls.")}
        fields = {k: v for k, v in overrides.items() if k not in constants}
        if args.torch:  # its schedule is controls.learning_rate too, so constants apply
            start = time.perf_counter()
            row = {"variant": name, "overrides": overrides, "system": "torch"}
            with patched_controls(constants):
                row |= torch_variant(prepared, base, fields, args.budget)
            emit(row | {"seconds": time.perf_counter() - start}, args.out)
            continue
        config = budgeted(base, fields, args)
        if args.rate_steps:
            row = {"variant": name, "overrides": overrides, **rate(prepared, config, args)}
            print(json.dumps(row), flush=True)
            continue
        run = create_run_dir(work / "runs", work / name, name)
        start = time.perf_counter()
        with patched_controls(constants):
            result = train(config, prepared, run)
        last = result.history[-1]
        row = {
            "variant": name,
            "overrides": overrides,
            "steps": last.step,
            "chars": last.step * config.batch_size * config.seq_len,
            "val_bpc": last.val_bpc,
            "best_val_bpc": min(s.val_bpc for s in result.history),
            "train_chars_per_s": sum(s.seconds * s.chars_per_s for s in result.history)
            / max(sum(s.seconds for s in result.history), 1e-9),
            "seconds": time.perf_counter() - start,
        }
        emit(row, args.out)
    return 0


@contextlib.contextmanager
def patched_controls(constants: dict[str, Any]) -> Iterator[None]:
    """chargen.train.controls with `constants` (`controls.NAME` keys) set, then restored."""
    from chargen.train import controls

    saved = {key: getattr(controls, key.removeprefix("controls.")) for key in constants}
    try:
        for key, value in constants.items():
            setattr(controls, key.removeprefix("controls."), value)
        yield
    finally:
        for key, value in saved.items():
            setattr(controls, key.removeprefix("controls."), value)


def emit(row: dict[str, Any], out: Path | None) -> None:
    """Print a finished variant's row, and append it to `out` so a long set keeps what ran."""
    print(json.dumps(row), flush=True)
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
