#!/usr/bin/env bash
# How a CI job uses chargen from the shell: prepare, train the tiny preset one epoch,
# sample with --json, and check exit codes and output. Needs `chargen` on PATH.
#   CORPUS=path/to/text.txt scripts/ci_smoke.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/corpora/wonderland.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CHARGEN_RUNS_DIR="$work/runs" CHARGEN_DATA_DIR="$work/data"

chargen prepare --corpus "$corpus" --out "$work/corpus.h5"
chargen train --data "$work/corpus.h5" --config tiny --epochs 1 --rng-seed 1 --run-dir "$work/runs/smoke"
test -s "$work/runs/smoke/best.weights.h5"
test "$(wc -l < "$work/runs/smoke/metrics.csv")" -eq 2   # header + one epoch

out=$(chargen sample --run "$work/runs/smoke" --seed "The " --length 40 --num-samples 2 --rng-seed 3 --json)
test "$(echo "$out" | wc -l)" -eq 2
echo "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    record = json.loads(line)
    assert len(record["text"]) == 40, record
print("samples ok")
'

# bad input must fail with exit code 2 and one Error: line
set +e
err=$(chargen sample --run "$work/runs/smoke" --seed "The " --temperature -1 2>&1 >/dev/null)
code=$?
set -e
test "$code" -eq 2
case "$err" in "Error: "*) ;; *) echo "unexpected error output: $err"; exit 1 ;; esac
echo "smoke ok"
