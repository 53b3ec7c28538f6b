"""A run's validation loss two ways, in numpy: windows of `seq_len` characters each scored from
a zero state (as `chargen evaluate` and training's val_bpc score them), and the same text read
as streams with the state carried from character to character, as the sampler reads it.

The gap is what the first characters of each window cost for want of context, so it says how
much of a windowed figure is the measure's and how much the model's:

    python scripts/eval_context.py runs/my-run [--streams 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chargen.data.prepared import read_ids  # noqa: E402
from chargen.generation.load import load_numpy_sampler  # noqa: E402
from chargen.runs.rundir import prepared_path, read_run_config  # noqa: E402
from chargen.tools.evaluate import stream_loss  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--streams", type=int, default=100, help="rows stepped together")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    run, sampler = load_numpy_sampler(args.run, args.run.parent)
    seq_len = read_run_config(run).seq_len
    ids = read_ids(prepared_path(run), "val").astype(np.int64)
    with threadpool_limits(1, "blas"):
        total, count = stream_loss(sampler, ids, args.streams, seq_len)
        windowed = total / count
        total, count = stream_loss(sampler, ids, args.streams, None)
        carried = total / count
    row = {
        "run": str(run.path),
        "seq_len": seq_len,
        "val_chars": len(ids),
        "windowed_bpc": windowed / math.log(2),
        "carried_bpc": carried / math.log(2),
    }
    if args.json:
        print(json.dumps(row))
    else:
        print(f"windowed (zero state every {seq_len}): {row['windowed_bpc']:.4f} bits/char")
        print(f"carried (state kept):                {row['carried_bpc']:.4f} bits/char")
    return 0


if __name__ == "__main__":
    sys.exit(main())
