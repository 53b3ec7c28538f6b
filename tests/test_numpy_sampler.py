"""The numpy sampler: the distribution of the Keras model, reproducible draws, no TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chargen.cli import main
from chargen.data.vocab import Vocab
from chargen.errors import RunError
from chargen.generation.numpy_sampler import NumpySampler, filter_logits
from chargen.generation.strategy import Strategy
from chargen.model.weights import read_arrays

ROOT = Path(__file__).resolve().parents[1]
VOCAB = Vocab(tuple(sorted(" abcdefghijklmnopqrstuvwxyz.,")))


def _keras_model(tmp_path: Path, **kw):
    """A model of random weights (larger than Keras' initial ones, so every gate matters),
    saved as training saves them."""
    from chargen.model.build import build_model

    model = build_model(vocab_size=len(VOCAB), embedding_dim=6, units=12, **kw)
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    return model, path


CASES = {
    "lstm x1": {"layers": 1},
    "lstm x3, sizes 12/20/8": {"layers": 3, "layer_units": (12, 20, 8)},
    "gru x2": {"layers": 2, "cell": "gru"},
    "lstm x2 + layer norm": {"layers": 2, "layer_norm": True},
    "gru x2 + layer norm + dropout": {
        "layers": 2,
        "cell": "gru",
        "layer_norm": True,
        "dropout": 0.2,
    },
}


@pytest.mark.parametrize("case", CASES)
def test_next_character_probabilities_match_keras(case: str, tmp_path: Path) -> None:
    kw = CASES[case]
    model, path = _keras_model(tmp_path, **kw)
    sizes = list(kw.get("layer_units") or [12] * kw["layers"])
    arrays = read_arrays(
        path, cell=kw.get("cell", "lstm"), layer_sizes=sizes, layer_norm=kw.get("layer_norm", False)
    )
    sampler = NumpySampler(arrays, VOCAB, cell=kw.get("cell", "lstm"))
    for seed in ("a", "the quick brown fox, jumped."):
        expected = model(np.array([VOCAB.encode(seed)]), training=False)[0, -1].numpy()
        got = sampler.next_logits(seed)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
        p, q = _softmax(got), _softmax(expected)
        assert np.abs(p - q).max() < 1e-5


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    _, path = _keras_model(tmp_path, layers=2)
    with pytest.raises(RunError, match="lstm layers do not match the run's config"):
        read_arrays(path, cell="lstm", layer_sizes=[12], layer_norm=False)
    with pytest.raises(RunError, match="lstm layers do not match"):
        read_arrays(path, cell="lstm", layer_sizes=[12, 16], layer_norm=False)
    with pytest.raises(RunError, match="no weights for layer 'gru/cell'"):
        read_arrays(path, cell="gru", layer_sizes=[12, 12], layer_norm=False)
    with pytest.raises(RunError, match="no weights for layer 'layer_normalization'"):
        read_arrays(path, cell="lstm", layer_sizes=[12, 12], layer_norm=True)


@pytest.mark.parametrize(
    "strategy",
    [
        Strategy(temperature=0.7, top_k=3),
        Strategy(temperature=1.3, top_p=0.6),
        Strategy(temperature=1.0, top_k=5, top_p=0.9),
        Strategy(temperature=0.5, top_p=0.95),
    ],
)
def test_filter_keeps_the_characters_tensorflow_keeps(strategy: Strategy) -> None:
    import tensorflow as tf

    from chargen.generation.strategy import filter_logits as tf_filter

    logits = np.random.default_rng(1).normal(0, 2, (4, 30)).astype(np.float32)
    t, k, p = strategy.tensors()
    expected = np.isfinite(tf_filter(tf.constant(logits), t, k, p).numpy())
    got = np.isfinite(filter_logits(logits, strategy))
    np.testing.assert_array_equal(got, expected)


def _trained_samplers(run):
    from chargen.generation.load import load_numpy_sampler, load_run_model
    from chargen.generation.sampler import Sampler

    _, numpy_sampler = load_numpy_sampler(run.path, run.path.parent)
    _, model, vocab = load_run_model(run.path, run.path.parent)
    return numpy_sampler, Sampler(model, vocab)


def test_argmax_text_is_the_same_on_both_backends(trained_run) -> None:
    numpy_sampler, tf_sampler = _trained_samplers(trained_run)
    seed = "Alice was beginning to get very tired"
    a = numpy_sampler.generate(seed, 300, Strategy(temperature=0))[0]
    b = tf_sampler.generate(seed, 300, Strategy(temperature=0))[0]
    assert len(a) == 300
    assert a == b


def test_draws_follow_the_distribution_and_the_seed(trained_run) -> None:
    numpy_sampler, _ = _trained_samplers(trained_run)
    strategy = Strategy(temperature=1.0)
    one = numpy_sampler.generate("Alice", 200, strategy, num_samples=3, rng_seed=5)
    assert one == numpy_sampler.generate("Alice", 200, strategy, num_samples=3, rng_seed=5)
    assert one != numpy_sampler.generate("Alice", 200, strategy, num_samples=3, rng_seed=6)
    assert len(set(one)) == 3 and all(len(t) == 200 for t in one)
    # the empirical next-character frequencies after one seed follow the softmax
    probs = _softmax(numpy_sampler.next_logits("Alice was"))
    draws = numpy_sampler.generate("Alice was", 1, strategy, num_samples=4000, rng_seed=1)
    counts = np.bincount(numpy_sampler.vocab.encode("".join(draws)), minlength=len(probs))
    assert np.abs(counts / 4000 - probs).max() < 0.03


def _fake_tensorflow(tmp_path: Path) -> dict[str, str]:
    """An environment where `import tensorflow` (or keras) fails, as without TensorFlow."""
    for name in ("tensorflow", "keras"):
        pkg = tmp_path / "blocked" / name
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(f"raise ImportError('{name} is blocked')\n")
    path = os.pathsep.join([str(tmp_path / "blocked"), str(ROOT / "src")])
    return {**os.environ, "PYTHONPATH": path, "CUDA_VISIBLE_DEVICES": ""}


def test_sample_and_the_light_commands_run_without_tensorflow(trained_run, tmp_path: Path):
    env = _fake_tensorflow(tmp_path)
    blocked = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True
    )
    assert "tensorflow is blocked" in blocked.stderr

    def chargen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chargen", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    run = str(trained_run.path)
    sample = chargen("sample", "--run", run, "--seed", "Alice", "--length", "80", "--rng-seed", "2")
    assert sample.returncode == 0, sample.stderr
    assert len(sample.stdout) == 81  # 80 characters and a newline
    again = chargen("sample", "--run", run, "--seed", "Alice", "--length", "80", "--rng-seed", "2")
    assert again.stdout == sample.stdout
    batch = chargen("sample", "--run", run, "--seed", "Alice", "--length", "20", "--json",
                    "--num-samples", "4", "--top-k", "5")  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert [len(json.loads(line)["text"]) for line in batch.stdout.splitlines()] == [20] * 4
    for args in (["--help"], ["sample", "--help"], ["info", "--run", run], ["runs"]):
        result = (
            chargen(*args, "--runs-dir", str(trained_run.path.parent))
            if args == ["runs"]
            else chargen(*args)
        )
        assert result.returncode == 0, (args, result.stderr)
    scored = chargen("evaluate", "--run", run, "--carry-state", "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["context"].startswith("state carried, ")
    corpus = tmp_path / "c.txt"
    corpus.write_text("Some text.\n", encoding="utf-8")
    assert chargen("clean", "--corpus", str(corpus)).stdout == "Some text.\n"
    # the compiled sampler needs TensorFlow: asked for, its absence is an error, not a fallback
    forced = chargen("sample", "--run", run, "--seed", "A", "--backend", "tensorflow")
    assert forced.returncode != 0


def test_seed_from_corpus_is_a_passage_of_the_val_split(
    runner: CliRunner, trained_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chargen.data.prepared import read_ids
    from chargen.runs.rundir import prepared_path

    monkeypatch.setenv("CHARGEN_SAMPLE_BACKEND", "numpy")
    args = ["sample", "--run", str(trained_run.path), "--seed-from-corpus", "--seed-length",
            "40", "--rng-seed", "9", "--length", "30"]  # fmt: skip
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.stderr
    assert first.stderr.startswith("seed: ")
    assert runner.invoke(main, args).output == first.output  # same seed, same text
    record = json.loads(runner.invoke(main, [*args, "--json"]).stdout)
    seed = record["seed"]
    assert len(seed) == 40 and len(record["text"]) == 30
    assert first.stderr == f"seed: {seed!r}\n"
    vocab = Vocab.load(trained_run.vocab)
    val = vocab.decode(read_ids(prepared_path(trained_run), "val"))
    assert seed in val
    other = json.loads(runner.invoke(main, [*args[:-4], "--rng-seed", "10", "--json"]).stdout)
    assert other["seed"] != seed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed-from-corpus", "--seed", "x"], "--seed-from-corpus is the seed; drop --seed"),
        (["--seed", "x", "--seed-length", "5"], "--seed-length applies to --seed-from-corpus"),
        (["--seed-from-corpus", "--seed-length", "0"], "--seed-length must be at least 1, got 0"),
    ],
)
def test_seed_from_corpus_bad_input(
    runner: CliRunner, trained_run, args: list[str], message: str
) -> None:
    result = runner.invoke(main, ["sample", "--run", str(trained_run.path), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1


def test_auto_backend_is_numpy_without_a_visible_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargen.errors import ConfigError
    from chargen.generation.backend import sample_backend

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert sample_backend("auto") == "numpy"
    assert sample_backend("tensorflow") == "tensorflow"
    with pytest.raises(ConfigError, match="backend must be one of"):
        sample_backend("torch")


def test_blas_threads_are_capped_while_a_stream_runs(trained_run) -> None:
    from threadpoolctl import threadpool_info

    numpy_sampler, _ = _trained_samplers(trained_run)
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    before = [p["num_threads"] for p in blas]
    numpy_sampler.threads = 2
    stream = numpy_sampler.stream("Alice", 100, Strategy(temperature=0), num_samples=32)
    next(stream)
    inside = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas and inside == [1] * len(blas)
    list(stream)
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == before
    # the cap changes the speed, never the text
    numpy_sampler.threads = None
    free = numpy_sampler.generate("Alice", 100, Strategy(temperature=0.8), rng_seed=3)
    numpy_sampler.threads = 1
    assert free == numpy_sampler.generate("Alice", 100, Strategy(temperature=0.8), rng_seed=3)


def test_threads_step_shares_of_the_samples_and_the_text_stays_the_same(trained_run) -> None:
    numpy_sampler, _ = _trained_samplers(trained_run)
    numpy_sampler.threads = 3
    # at least MIN_GROUP_ROWS samples a thread, the shares in order and covering every sample
    assert numpy_sampler.groups(31) == [range(0, 31)]
    assert numpy_sampler.groups(32) == [range(0, 16), range(16, 32)]
    assert numpy_sampler.groups(50) == [range(0, 16), range(16, 33), range(33, 50)]
    assert numpy_sampler.groups(100) == [range(0, 33), range(33, 66), range(66, 100)]
    strategy = Strategy(temperature=0.8, top_k=20)
    texts = {}
    for threads in (None, 1, 3):
        numpy_sampler.threads = threads
        texts[threads] = numpy_sampler.generate("Alice", 150, strategy, num_samples=24, rng_seed=4)
    assert texts[None] == texts[1] == texts[3]
    assert len(set(texts[3])) == 24 and all(len(t) == 150 for t in texts[3])
    # sample i is the same text with other samples beside it
    numpy_sampler.threads = 3
    alone = numpy_sampler.generate("Alice", 150, strategy, num_samples=1, rng_seed=4)
    assert alone[0] == texts[3][0]


@pytest.mark.parametrize(("raw", "threads"), [("1", 1), ("3", 3), ("0", None)])
def test_sample_threads_from_the_environment(
    raw: str, threads: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chargen.generation.backend import sample_threads

    monkeypatch.setenv("CHARGEN_SAMPLE_THREADS", raw)
    assert sample_threads() == threads


def test_sample_threads_default_to_one_per_physical_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargen.generation.backend import sample_threads
    from chargen.runtime import physical_cores

    monkeypatch.delenv("CHARGEN_SAMPLE_THREADS", raising=False)
    assert sample_threads() == physical_cores() >= 1


def test_bad_sample_threads_is_a_one_line_error(
    trained_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARGEN_SAMPLE_THREADS", "two")
    result = CliRunner().invoke(
        main, ["sample", "--run", str(trained_run.path), "--seed", "Alice", "--backend", "numpy"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: CHARGEN_SAMPLE_THREADS must be a whole number >= 0, got 'two'\n"
    )
