"""`make quality`: validation loss after equal wall time, with the curve minute by minute.

Each system trains for the same budget on the same split (tiny Shakespeare, its last 10% held
out, as nanoGPT splits it): `chargen train --max-time` with its budget schedule, the tutorial,
the same LSTM in PyTorch on that schedule (when installed), a nanoGPT-style transformer
(bench_transformer) and the n-grams of `chargen baseline`. The budget is ten minutes on a CPU
and five on a GPU, where the `gpu` preset and nanoGPT's GPU transformer replace the CPU ones,
as the published recipes for each kind of machine differ.

Every curve point is scored with the clock stopped, so scoring never eats a system's budget;
chargen's points are its own evaluations (one per epoch), whose time `--max-time` does count,
which can only favour the others.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_baselines as base
import bench_transformer as gpt

CPU_BUDGET, GPU_BUDGET, CURVE_EVERY = 600.0, 300.0, 60.0


def default_budget(gpu: bool) -> float:
    return GPU_BUDGET if gpu else CPU_BUDGET


def bench_quality(
    prepared: Any,
    config: Any,
    budget: float,
    work: Path | None = None,
    *,
    gpu: bool = False,
    every: float = CURVE_EVERY,
) -> dict[str, Any]:
    """Val bits and nats per character of each system after `budget` seconds, and curves of
    [training seconds, val bits/char] points."""
    ids, val = base.split_ids(prepared, "train"), base.split_ids(prepared, "val")
    vocab = len(prepared.vocab)
    every = min(every, budget)
    bpc: dict[str, float] = {}
    curves: dict[str, list[list[float]]] = {}
    out: dict[str, Any] = {"budget_s": budget, "curve_every_s": every, "val_bpc": bpc}
    out["chargen"], curves["chargen"] = _chargen(prepared, config, budget, work)

    tutorial = base.tutorial_model(vocab)
    curves["tutorial"] = _chunked(
        lambda s, seed: base.tutorial_train(tutorial, ids, vocab, steps=None, seconds=s, seed=seed),
        lambda: base.tutorial_bpc(tutorial, val, vocab, positions=5000, seed=1),
        budget,
        every,
    )
    if base.torch_available():
        net = base.torch_config_model(vocab, config)
        curves["torch"] = _chunked(
            lambda s, seed: base.torch_config_train(
                net,
                ids,
                config,
                steps=None,
                seconds=s,
                seed=seed,
                lr_at=_budget_lr(config, budget, offset=seed * every),  # seed: piece number
            ),
            lambda: base.torch_bpc(net, val, seq_len=config.seq_len, batch=256),
            budget,
            every,
        )
    cfg = gpt.GPU if gpu else gpt.CPU
    if len(val) <= cfg.block + 1:  # a smoke-sized corpus
        cfg = gpt.GPTConfig(block=8, batch=4)
    model = gpt.transformer_model(vocab, cfg)
    out["transformer"] = gpt.transformer_train(
        model,
        ids,
        cfg,
        seconds=budget,
        every=every,
        score=lambda: gpt.transformer_bpc(model, val, cfg),
    )
    curves["transformer"] = out["transformer"].pop("curve")
    for name, points in curves.items():
        bpc[name] = points[-1][1]
    from chargen.tools.baseline import run_baseline

    for order in (5, 7):
        bpc[f"ngram_{order}"] = run_baseline(prepared.path, order, vocab).val_bpc
    out["val_nats"] = {name: value * math.log(2) for name, value in bpc.items()}
    out["curves"] = curves
    return out


def _chargen(
    prepared: Any, config: Any, budget: float, work: Path | None
) -> tuple[dict[str, Any], list[list[float]]]:
    """`chargen train --max-time budget` in process; its metrics rows as the curve."""
    from chargen.runs.rundir import create_run_dir
    from chargen.train.run import train

    scratch = Path(tempfile.mkdtemp(prefix="quality-", dir=work))
    timed = config.replace(max_time=budget, epochs=100_000, rng_seed=0)
    result = train(timed, prepared, create_run_dir(scratch / "runs", scratch / "run", "q"))
    curve, finished = [], 0.0
    for row in result.history:  # `seconds` restarts with each epoch
        curve.append([finished + row.seconds, row.val_bpc])
        if not row.partial:
            finished += row.seconds
    last = result.history[-1]
    return {"steps": last.step, "final_learning_rate": last.learning_rate}, curve


def _budget_lr(config: Any, budget: float, *, offset: float) -> Callable[[float], float]:
    """chargen's rate under `--max-time budget` (its schedule, `anneal` by default), for a
    piece of training that starts `offset` seconds into the budget: the PyTorch model trains
    on the same schedule, so the two differ only in their implementations."""
    from chargen.train.controls import Progress, learning_rate

    timed = config.replace(max_time=budget)
    return lambda seconds: learning_rate(timed, Progress(), (offset + seconds) / budget)


def _chunked(
    train: Callable[[float, int], Any], score: Callable[[], float], budget: float, every: float
) -> list[list[float]]:
    """Train in `every`-second pieces (each with its own data seed, so no piece repeats the
    last one's windows), scoring after each; `train(seconds, piece)` gets the piece's number,
    so a budget's schedule can go on where the last piece stopped."""
    curve, spent, piece = [], 0.0, 0
    while spent < budget - 1e-6:
        seconds = min(every, budget - spent)
        train(seconds, piece)
        spent, piece = spent + seconds, piece + 1
        curve.append([spent, score()])
    return curve
