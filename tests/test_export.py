"""Exports load in a fresh process: .keras with keras.saving, SavedModel generating text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from chargen.cli import main

LOAD = """
import json, sys
import tensorflow as tf
import keras
model = keras.saving.load_model(sys.argv[1])
served = tf.saved_model.load(sys.argv[2]).signatures["serving_default"]
out = served(seed=tf.constant("Alice was"), temperature=tf.constant(0.0), length=tf.constant(40))
warm = served(seed=tf.constant("Alice was"), temperature=tf.constant(0.9), length=tf.constant(25))
# the TF1-style loader TensorFlow Serving and saved_model_cli use: restore, then run by name
with tf.compat.v1.Session(graph=tf.Graph()) as sess:
    sig = tf.compat.v1.saved_model.loader.load(sess, ["serve"], sys.argv[2]).signature_def[
        "serving_default"]
    feed = {sig.inputs["seed"].name: "Alice was", sig.inputs["temperature"].name: 0.0,
            sig.inputs["length"].name: 40}
    v1 = sess.run(sig.outputs["text"].name, feed_dict=feed).decode()
refused = []
for seed, temperature in (("", 0.0), ("Alice \u263a", 0.0), ("Alice", -1.0)):
    try:
        served(seed=tf.constant(seed), temperature=tf.constant(temperature),
               length=tf.constant(5))
    except tf.errors.InvalidArgumentError as exc:
        refused.append(exc.message)
print(json.dumps({"params": model.count_params(), "greedy": out["text"].numpy().decode(),
                  "warm": warm["text"].numpy().decode(), "v1": v1, "refused": refused}))
"""


def test_exports_generate_in_a_fresh_process(runner: CliRunner, trained_run, tmp_path: Path):
    keras_file = tmp_path / "model.keras"
    saved = tmp_path / "served" / "1"
    for fmt, out in (("keras", keras_file), ("savedmodel", saved)):
        result = runner.invoke(
            main, ["export", "--run", str(trained_run.path), "--format", fmt, str(out)]
        )
        assert (result.exit_code, result.stdout) == (0, f"wrote {out}\n"), result.stderr
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)  # the exports must not need chargen
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, str(keras_file), str(saved)],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    sampled = runner.invoke(
        main,
        ["sample", "--run", str(trained_run.path), "--seed", "Alice was", "--length", "40",
         "--argmax"],
    )  # fmt: skip
    assert got["greedy"] + "\n" == sampled.stdout
    assert got["v1"] == got["greedy"]
    assert len(got["warm"]) == 25
    # what `chargen sample` refuses: an empty seed, characters outside the vocabulary (U+263A
    # here; they used to become id 0, a line break), a negative temperature
    expected = ("seed is empty", "outside the vocabulary", "temperature must be >= 0")
    for message, text in zip(got["refused"], expected, strict=True):
        assert text in message
    info = json.loads(
        runner.invoke(main, ["info", "--run", str(trained_run.path), "--json"]).stdout
    )
    assert got["params"] == info["parameters"]


def test_export_refuses_bad_targets(runner: CliRunner, trained_run, tmp_path: Path) -> None:
    run = ["export", "--run", str(trained_run.path)]
    bad = runner.invoke(main, [*run, "--format", "keras", str(tmp_path / "model.h5")])
    assert (bad.exit_code, bad.stderr) == (
        2,
        f"Error: a Keras export must end in .keras, got {tmp_path / 'model.h5'}\n",
    )
    taken = tmp_path / "taken"
    taken.mkdir()
    bad = runner.invoke(main, [*run, "--format", "savedmodel", str(taken)])
    assert (bad.exit_code, bad.stderr) == (
        2,
        f"Error: {taken} already exists; choose another path\n",
    )
