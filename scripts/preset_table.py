"""The README's preset table: every preset trained for the same wall-clock budget on each corpus.

Each preset runs `chargen train --config NAME --max-time BUDGET --rng-seed 1` with a cap on
steps per epoch, so that it validates every few dozen seconds; the figure is the best
validation bits/char of the completed epochs. Rerunning `chargen train` with the printed
`--epochs E --steps-per-epoch S` reproduces a figure exactly (CPU training is deterministic
for a fixed seed); the time budget only decides E. n-gram baselines run on the same prepared
file as the `default` preset.

    python scripts/preset_table.py                       # both shared corpora, 120 s each
    python scripts/preset_table.py --budget 60 --presets tiny,char-rnn --corpora wonderland.txt
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
CORPORA = [SHARED / "tinyshakespeare.txt", SHARED / "wonderland.txt"]
# batches per "epoch" so that each preset validates every 20-40 s on a 2-core CPU
STEPS = {
    "tiny": 60,
    "default": 50,
    "alice": 50,
    "alice-2layer": 50,
    "stackabuse": 15,
    "tf-tutorial": 10,
    "char-rnn": 250,
    "char-rnn-large": 20,
}
ORDERS = (1, 3, 5, 7)


def chargen(*args: str) -> list[dict[str, Any]]:
    """Run the CLI in a child process; its JSON lines (a failure raises with its stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "chargen", *args], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(f"chargen {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def train(corpus: Path, preset: str, budget: float, runs: Path, stateful: bool) -> dict[str, Any]:
    name = f"{corpus.stem}-{preset}{'-stateful' if stateful else ''}"
    run_dir = runs / name
    steps = STEPS.get(preset, 50)
    args = [
        "train", "--corpus", str(corpus), "--config", preset, "--run-dir", str(run_dir),
        "--rng-seed", "1", "--epochs", "10000", "--steps-per-epoch", str(steps),
        "--max-time", str(budget), "--json",
    ]  # fmt: skip
    if stateful:
        args.append("--stateful")
    events = chargen(*args)
    summary = next(e for e in events if e.get("event") == "summary")
    return {
        "corpus": corpus.name,
        "preset": preset + (" --stateful" if stateful else ""),
        "run": str(run_dir),
        "epochs": summary["epochs"],
        "steps_per_epoch": steps,
        "best_epoch": summary["best_epoch"],
        "best_val_bpc": summary["best_val_bpc"],
        "train_seconds": summary["seconds"],
    }


def baselines(corpus: Path, run_dir: str) -> list[dict[str, Any]]:
    out = []
    for order in ORDERS:
        (res,) = chargen("baseline", "--order", str(order), "--run", run_dir, "--json")
        out.append({"corpus": corpus.name, **res})
    return out


def table(rows: list[dict[str, Any]], grams: list[dict[str, Any]]) -> str:
    lines = [
        "| corpus | preset | best val bits/char | epochs x steps | training time |",
        "|---|---|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['corpus']} | `{r['preset']}` | {r['best_val_bpc']:.3f} "
            f"| {r['epochs']} x {r['steps_per_epoch']} | {r['train_seconds']:.0f} s |"
        )
    for g in grams:
        lines.append(
            f"| {g['corpus']} | `baseline --order {g['order']}` | {g['val_bpc']:.3f} "
            f"| | {g['seconds']:.0f} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per preset")
    parser.add_argument("--presets", default=",".join(STEPS), help="comma-separated names")
    parser.add_argument("--corpora", nargs="*", type=Path, default=CORPORA)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "presets")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "presets.json")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    grams: list[dict[str, Any]] = []
    for corpus in args.corpora:
        for preset in [p for p in args.presets.split(",") if p]:
            for stateful in (False, True) if preset == "char-rnn" else (False,):
                rows.append(train(corpus, preset, args.budget, args.runs, stateful))
                print(json.dumps(rows[-1]), flush=True)
        # the n-grams read the default preset's prepared file (not a lowercased one)
        mine = [r for r in rows if r["corpus"] == corpus.name]
        plain = [r for r in mine if r["preset"] == "default"] or mine
        if plain:
            grams += baselines(corpus, plain[0]["run"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": rows, "baselines": grams}, indent=2) + "\n")
    print(table(rows, grams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
