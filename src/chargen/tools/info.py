"""What a run directory holds, summarised for `chargen info` and `chargen runs`.

Reads only the small text files (config.json, vocab.json, run.json, metrics.csv) and counts
parameters from the config, so inspecting runs never imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chargen.data.vocab import Vocab
from chargen.errors import RunError
from chargen.runs.rundir import (
    LATEST,
    RunDir,
    read_meta,
    read_metrics,
    read_run_config,
    resolve_run,
)


def count_parameters(
    *,
    vocab_size: int,
    embedding_dim: int,
    layer_units: Sequence[int],
    cell: str = "lstm",
    layer_norm: bool = False,
) -> int:
    """Weights of Embedding -> LSTM/GRU stack -> Dense, as Keras counts them.

    An LSTM layer has four gates, each with input weights, recurrent weights and a bias; a GRU
    three, with two biases each (Keras' default reset_after=True, the cuDNN layout).
    """
    total = vocab_size * embedding_dim
    width = embedding_dim
    for units in layer_units:
        if cell == "gru":
            total += 3 * (width * units + units * units + 2 * units)
        else:
            total += 4 * (width * units + units * units + units)
        if layer_norm:
            total += 2 * units  # scale and offset
        width = units
    return total + width * vocab_size + vocab_size


def best_epoch(rows: list[dict[str, float]]) -> dict[str, float] | None:
    finite = [r for r in rows if math.isfinite(r.get("val_loss", math.nan))]
    return min(finite, key=lambda r: r["val_loss"]) if finite else None


def run_info(run_path: Path | None, runs_root: Path) -> dict[str, Any]:
    """Config, vocabulary, parameter count, best validation figure and provenance of one run."""
    run = resolve_run(run_path, runs_root)
    config = read_run_config(run)
    vocab = Vocab.load(run.vocab)
    meta = read_meta(run)
    rows = read_metrics(run)
    best = best_epoch(rows)
    return {
        "run": str(run.path),
        "created": meta.get("created"),
        "chargen_version": meta.get("chargen_version"),
        "corpus": {
            "sources": meta.get("sources", []),
            "sha256": meta.get("source_sha256"),
            "prepared": meta.get("prepared"),
            "sizes": meta.get("sizes", {}),
        },
        "vocabulary": {"size": len(vocab), "chars": "".join(vocab.chars)},
        "parameters": count_parameters(
            vocab_size=len(vocab),
            embedding_dim=config.embedding_dim,
            layer_units=config.layer_sizes,
            cell=config.cell,
            layer_norm=config.layer_norm,
        ),
        "epochs_done": epochs_done(run, rows),
        "best": None
        if best is None
        else {
            "epoch": int(best["epoch"]),
            "val_loss": best["val_loss"],
            "val_bpc": best["val_bpc"],
            "train_loss": best["train_loss"],
        },
        "config": config.to_dict(),
    }


def epochs_done(run: RunDir, rows: list[dict[str, Any]]) -> int:
    """Finished epochs: the checkpoint's position; metrics rows also hold --eval-every rows
    inside epochs, so counting rows overstates it."""
    from chargen.train.checkpoint import saved_position

    position = saved_position(run.checkpoint)
    if position is not None and isinstance(position.get("epoch"), int):
        return int(position["epoch"])
    return len({int(r["epoch"]) for r in rows})


def list_runs(runs_root: Path) -> list[dict[str, Any]]:
    """Every run directory under `runs_root`, oldest name first, with its best val figure."""
    if not runs_root.is_dir():
        return []
    latest = runs_root / LATEST
    latest_target = latest.resolve() if latest.is_symlink() else None
    found = []
    for path in sorted(p for p in runs_root.iterdir() if p.is_dir() and not p.is_symlink()):
        run = RunDir(path)
        if not run.config.is_file():
            continue
        try:
            rows, created = read_metrics(run), read_meta(run).get("created")
        except RunError:  # one damaged run must not hide the others
            rows, created = [], None
        best = best_epoch(rows) if all("val_bpc" in r for r in rows) else None
        found.append(
            {
                "run": str(path),
                "name": path.name,
                "latest": path.resolve() == latest_target,
                "epochs_done": epochs_done(run, rows),
                "best_val_bpc": None if best is None else best["val_bpc"],
                "best_epoch": None if best is None else int(best["epoch"]),
                "created": created,
            }
        )
    return found


def describe_run(info: dict[str, Any]) -> str:
    """`chargen info` as aligned `key  value` lines, for people; --json gives the dict."""
    c, corpus = info["config"], info["corpus"]
    sizes = corpus.get("sizes", {})
    best = info["best"]
    units = c["layer_units"] or [c["units"]] * c["layers"]
    rows = [
        ("run", info["run"]),
        ("created", info["created"] or "unknown"),
        ("corpus", ", ".join(corpus["sources"]) or "unknown"),
        ("sha256", corpus["sha256"] or "unknown"),
        ("characters", f"{sizes.get('train', 0):,} train, {sizes.get('val', 0):,} val"),
        ("vocabulary", f"{info['vocabulary']['size']} characters {info['vocabulary']['chars']!r}"),
        (
            "model",
            f"embedding {c['embedding_dim']}, {c['cell'].upper()} {'/'.join(map(str, units))}, "
            f"dropout {c['dropout']:g}, {info['parameters']:,} parameters",
        ),
        (
            "training",
            f"seq_len {c['seq_len']}, batch_size {c['batch_size']}, "
            f"learning_rate {c['learning_rate']:g}, {info['epochs_done']} of {c['epochs']} epochs",
        ),
        (
            "best",
            "no finished epoch"
            if best is None
            else f"val {best['val_bpc']:.4f} bits/char ({best['val_loss']:.4f} nats) "
            f"at epoch {best['epoch']}",
        ),
    ]
    return "\n".join(f"{key:<11} {value}" for key, value in rows)


def describe_runs(runs: list[dict[str, Any]]) -> str:
    """`chargen runs` as a table; `*` marks the run runs/latest points at."""
    lines = [f"  {'run':<40} {'epochs':>6} {'val_bpc':>8}  created"]
    for r in runs:
        bpc = "-" if r["best_val_bpc"] is None else f"{r['best_val_bpc']:.4f}"
        mark = "*" if r["latest"] else " "
        lines.append(
            f"{mark} {r['name']:<40} {r['epochs_done']:>6} {bpc:>8}  {r['created'] or '-'}"
        )
    return "\n".join(lines)
