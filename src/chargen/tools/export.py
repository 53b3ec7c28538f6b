"""Export a run for use outside chargen: a `.keras` file, or a SavedModel that generates text.

The SavedModel's `serving_default` signature takes (seed string, temperature, length) and
returns the generated string; the character lookup and the stateful step loop live inside the
graph, so TensorFlow Serving (or any TF runtime) needs neither Python nor chargen.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from chargen.data.vocab import Vocab
from chargen.errors import UsageProblem
from chargen.runs.rundir import RunDir

FORMATS = ("keras", "savedmodel")


def load_run_model(run: RunDir) -> tuple[Any, Vocab]:
    """The run's checked model and vocabulary (one loader for sample, evaluate and export)."""
    from chargen.generation.load import load_run_model as load

    _, model, vocab = load(run.path, run.path.parent)
    return model, vocab


def export_run(run: RunDir, fmt: str, out: Path) -> Path:
    """Write `out` in `fmt`; never leaves a half-written export at `out`."""
    from chargen.files import atomic_path

    if fmt not in FORMATS:
        raise UsageProblem(f"unknown export format {fmt!r} (formats: {', '.join(FORMATS)})")
    model, vocab = load_run_model(run)
    if fmt == "keras":
        if out.suffix != ".keras":
            raise UsageProblem(f"a Keras export must end in .keras, got {out}")
        with atomic_path(out) as tmp:
            model.save(tmp)
        return out
    if out.exists():
        raise UsageProblem(f"{out} already exists; choose another path")
    tmp = out.with_name(f".tmp-{out.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _save_generator(model, vocab, tmp)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _save_generator(model: Any, vocab: Vocab, path: Path) -> None:
    import tensorflow as tf

    from chargen.generation.sampler import Sampler

    sampler = Sampler(model, vocab, jit_compile=False)
    codepoints = [ord(c) for c in vocab.chars]
    # characters outside the vocabulary: its unknown symbol, else refused (-1, checked below)
    fallback = vocab.unknown_id if vocab.unknown_id is not None else -1

    class Generator(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            # the tf.Variables themselves, not the Keras model: Keras 3 exports each of its
            # variables as a second, restored copy while the graph keeps reading the first,
            # which a TF1-style loader (TensorFlow Serving, saved_model_cli) never restores
            self.state = [v.value for v in model.variables]
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(codepoints, tf.int32), tf.range(len(codepoints), dtype=tf.int32)
                ),
                default_value=fallback,
            )
            self.chars = tf.constant(codepoints, tf.int32)

        @tf.function(
            input_signature=[
                tf.TensorSpec([], tf.string, name="seed"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.int32, name="length"),
            ]
        )
        def generate(self, seed: Any, temperature: Any, length: Any) -> dict[str, Any]:
            ids = self.table.lookup(tf.strings.unicode_decode(seed, "UTF-8"))
            # what `chargen sample` refuses, refused here too (InvalidArgument for a server)
            checks = [
                tf.debugging.assert_positive(tf.size(ids), message="the seed is empty"),
                tf.debugging.assert_non_negative(
                    ids, message="the seed has characters outside the vocabulary"
                ),
                tf.debugging.assert_non_negative(
                    temperature, message="temperature must be >= 0 (0 is argmax)"
                ),
                tf.debugging.assert_non_negative(length, message="length must be >= 0"),
            ]
            with tf.control_dependencies(checks):
                ids = tf.identity(ids)
            rng = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
            strategy = (tf.maximum(temperature, 1e-6), tf.constant(0), tf.constant(1.0))
            greedy = temperature <= 0.0
            out = sampler.generate_ids(ids[None, :], length, (*strategy, greedy), rng)[0]
            text = tf.strings.unicode_encode(tf.gather(self.chars, out), "UTF-8")
            return {"text": text}

    module = Generator()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.generate})
