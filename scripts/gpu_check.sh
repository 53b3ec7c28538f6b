#!/usr/bin/env bash
# Every GPU check in one place, to rerun wherever a CUDA GPU is available:
#   1. the GPUs TensorFlow sees, and the CUDA/cuDNN it was built against;
#   2. the LSTM runs on the cuDNN kernel: use_cudnn=True raises when it cannot, and the
#      graph of chargen's own model (float32, mixed float16 and bfloat16) holds CudnnRNNV3;
#   3. two short epochs of the `gpu` preset, in float32 and with --mixed-precision float16
#      and bfloat16, printing chars/s (the second epoch's figure is free of tracing), and how
#      many float16 steps the dynamic loss scale skipped;
#   4. the benchmark's GPU section (default preset on GPU vs a child process without GPU, gpu
#      preset on GPU);
#   5. the benchmark's sample section on the GPU (naive window re-feeding against the stateful
#      sampler, 1 and 64 samples); last, since it is the one step that needs XLA's GPU compiler
#      (ptxas and libdevice from a CUDA toolkit);
#   6. 64 samples with a fixed --rng-seed give the same text with chargen's XLA GPU options
#      (accel.GPU_XLA_FLAGS: while loops in CUDA graphs) as with command buffers of kernels only.
# Usage: scripts/gpu_check.sh [corpus]   (PY=path/to/python picks the interpreter; default:
# the project's .venv from `make install`, else python on PATH). Runs and the benchmark JSON
# are kept under runs/gpu-check-<time>/.
set -euo pipefail
CORPUS=$(realpath -m "${1:-$(dirname "$0")/../../shared/corpora/tinyshakespeare.txt}")
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python; fi
fi
STEPS=${STEPS:-100}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
KEEP=runs/gpu-check-$(date +%Y%m%d-%H%M%S)  # created once a GPU is found

echo "== devices and cuDNN"
"$PY" - <<'PYEOF'
import sys

import keras
import tensorflow as tf

from chargen.model import fast_layers

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
    print(f"{type(layer).__module__}.LSTM with use_cudnn=True: ran")


def op_types(concrete):
    graph = concrete.graph.as_graph_def()
    found = {node.op for node in graph.node}
    for function in graph.library.function:
        found |= {node.op for node in function.node_def}
    return found


from chargen.model.build import build_model

ids = tf.zeros([4, 20], tf.int32)
for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
    keras.mixed_precision.set_global_policy(policy)
    model = build_model(vocab_size=30, embedding_dim=8, units=32, layers=2, dropout=0.1)
    step = tf.function(lambda x: model(x, training=True), autograph=False)
    ops = op_types(step.get_concrete_function(ids))
    print(f"chargen model ({policy}) uses CudnnRNNV3:", "CudnnRNNV3" in ops)
    if "CudnnRNNV3" not in ops:
        sys.exit(f"chargen's model does not use the cuDNN kernel under {policy}")
keras.mixed_precision.set_global_policy("float32")
PYEOF
mkdir -p "$KEEP"

for precision in "" "float16" "bfloat16"; do
    echo "== gpu preset, two epochs of at most $STEPS steps ${precision:+(mixed precision $precision)}"
    "$PY" -m chargen train --corpus "$CORPUS" --config gpu --epochs 2 --steps-per-epoch "$STEPS" \
        --rng-seed 0 --data-dir "$WORK/data" --run-dir "$KEEP/run-${precision:-float32}" \
        ${precision:+--mixed-precision "$precision"}
done

echo "== float16 loss scaling: steps run, steps Adam applied (the rest overflowed), final scale"
"$PY" - "$KEEP/run-float16/checkpoint.h5" <<'PYEOF'
import json
import sys

import h5py

with h5py.File(sys.argv[1], "r") as f:
    steps = json.loads(f.attrs["position"])["global_step"]
    values = {ds.attrs["path"]: ds[()] for ds in f["optimizer"].values()}
applied = values.get("adam/iteration")
scale = values.get("loss_scale_optimizer/dynamic_scale")
if applied is None or scale is None:  # a diagnostic: never stop the checks that follow
    print(f"{steps} steps; no loss-scale variables among {sorted(values)[:4]}...")
else:
    print(f"{steps} steps, {int(applied)} applied, {steps - int(applied)} skipped; "
          f"loss scale {float(scale):g}")
PYEOF

echo "== benchmark, GPU section"
"$PY" scripts/bench.py --sections gpu --out "$KEEP/bench-gpu.json" --work-dir "$WORK/bench"

echo "== benchmark, sample section on the GPU"
"$PY" scripts/bench.py --sections sample --out "$KEEP/bench-sample-gpu.json" \
    --work-dir "$WORK/bench-sample"

echo "== 64 samples, fixed --rng-seed: while loops in CUDA graphs or not"
sample=(-m chargen sample --run "$KEEP/run-float32" --seed "$(head -c 40 "$CORPUS")" --length 400
    --num-samples 64 --rng-seed 7)
"$PY" "${sample[@]}" >"$KEEP/sample-chargen-xla.txt"
XLA_FLAGS="--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN" \
    "$PY" "${sample[@]}" >"$KEEP/sample-default-xla.txt"
if cmp -s "$KEEP/sample-chargen-xla.txt" "$KEEP/sample-default-xla.txt"; then
    echo "identical text ($(wc -c <"$KEEP/sample-chargen-xla.txt") bytes)"
else
    echo "sampled text differs with chargen's XLA GPU options" >&2
    exit 1
fi
echo "results kept in $KEEP"
