#!/usr/bin/env bash
# Every GPU check in one place, to rerun wherever a CUDA GPU is available:
#   1. the GPUs TensorFlow sees, and the CUDA/cuDNN it was built against;
#   2. the LSTM runs on the cuDNN kernel (use_cudnn=True raises when it cannot);
#   3. one short epoch of the `gpu` preset, in float32 and with --mixed-precision float16,
#      printing chars/s;
#   4. the benchmark's GPU section (default preset on GPU vs CPU, gpu preset on GPU).
# Usage: scripts/gpu_check.sh [corpus]   (PY=path/to/python picks the interpreter; default:
# the project's .venv from `make install`, else python on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python; fi
fi
CORPUS=${1:-../shared/corpora/tinyshakespeare.txt}
STEPS=${STEPS:-100}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== devices and cuDNN"
"$PY" - <<'PYEOF'
import sys

import keras
import tensorflow as tf

from chargen import fast_layers

gpus = tf.config.list_physical_devices("GPU")
print("GPUs:", [g.name for g in gpus] or "none")
info = tf.sysconfig.get_build_info()
print("built with CUDA", info.get("cuda_version"), "cuDNN", info.get("cudnn_version"))
if not gpus:
    sys.exit("no GPU visible to TensorFlow: nothing to check")
x = tf.random.normal([8, 20, 16])
for layer in (
    keras.layers.LSTM(64, return_sequences=True, use_cudnn=True),
    fast_layers.LSTM(64, return_sequences=True, use_cudnn=True),
):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    tape.gradient(loss, layer.trainable_weights)
    # Keras marks a layer that took the cuDNN path as not XLA-compilable
    print(f"{type(layer).__module__}.LSTM on cuDNN:", layer.supports_jit is False)
PYEOF

for precision in "" "float16"; do
    echo "== gpu preset, one epoch of $STEPS steps ${precision:+(mixed precision $precision)}"
    "$PY" -m chargen train --corpus "$CORPUS" --config gpu --epochs 1 --steps-per-epoch "$STEPS" \
        --rng-seed 0 --data-dir "$WORK/data" --run-dir "$WORK/run-${precision:-float32}" \
        ${precision:+--mixed-precision "$precision"}
done

echo "== benchmark, GPU section"
"$PY" scripts/bench.py --sections gpu --out "$WORK/bench-gpu.json"
