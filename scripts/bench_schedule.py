"""A time budget as a schedule: the same config trained for the same --max-time with a
constant learning rate and with the schedules a budget shapes (Config.lr_schedule: anneal,
cosine), one after the other in this process, each from the same seed. Prints one JSON object
per finished schedule: the validation bits per character each ends on (its last row, a
partial epoch when the budget ends inside one).

    python scripts/bench_schedule.py --corpus ../shared/corpora/tinyshakespeare.txt --budget 600
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chargen.runtime import import_tensorflow  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per schedule")
    parser.add_argument(
        "--steps", type=int, help="a step budget instead (equal work on a machine under load)"
    )
    parser.add_argument("--config", default="default", help="preset name or TOML path")
    parser.add_argument("--schedules", default="constant,anneal,cosine")
    args = parser.parse_args(argv)
    import_tensorflow(training=True)
    from chargen.config import load_config
    from chargen.data.prepare import prepare_corpus
    from chargen.runs.rundir import create_run_dir
    from chargen.text.clean import CleanOptions
    from chargen.train.run import train

    work = Path(tempfile.mkdtemp(prefix="chargen-schedule-"))
    prepared = prepare_corpus(
        str(args.corpus), CleanOptions(), val_fraction=0.1, data_dir=work / "data"
    ).prepared
    budget = {"max_steps": args.steps} if args.steps else {"max_time": args.budget}
    base = dataclasses.replace(load_config(args.config), rng_seed=0, epochs=10_000, **budget)
    out: dict[str, object] = {"config": args.config, **budget}
    for schedule in args.schedules.split(","):
        config = dataclasses.replace(base, lr_schedule=schedule)
        run = create_run_dir(work / "runs", work / schedule, schedule)
        result = train(config, prepared, run)
        last = result.history[-1]
        out[schedule] = {
            "val_bpc": last.val_bpc,
            "best_val_bpc": min(s.val_bpc for s in result.history),
            "steps": last.step,
            "final_learning_rate": last.learning_rate,
        }
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
