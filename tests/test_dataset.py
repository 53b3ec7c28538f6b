from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargen.data.prepared import check_fits, open_prepared, prepare, read_ids
from chargen.data.vocab import Vocab
from chargen.data.windows import count_batches, iter_batches, make_dataset
from chargen.errors import CorpusError, RunError

TEXT = "abcdefghijklmnopqrstuvwxyz" * 8  # 208 characters


def _prepare(path: Path, text: str = TEXT, val_fraction: float = 0.25, pieces: int = 3):
    size = -(-len(text) // pieces)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    return prepare(
        lambda: iter(chunks),
        path,
        val_fraction=val_fraction,
        normalisation={"lowercase": False},
        source_sha256="f" * 64,
        sources=["mem"],
    )


def test_prepare_writes_ids_split_and_attributes(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    p = _prepare(out)
    assert p.sizes == {"train": 156, "val": 52}
    assert len(p.vocab) == 26
    train, val = read_ids(out, "train"), read_ids(out, "val")
    assert p.vocab.decode(train) + p.vocab.decode(val) == TEXT
    with h5py.File(out) as h5:
        assert h5["train"].dtype == np.uint8
        assert h5.attrs["source_sha256"] == "f" * 64
        assert json.loads(h5.attrs["normalisation"]) == {"lowercase": False}
    assert [f.name for f in tmp_path.iterdir()] == ["p.h5"]  # no temporary left behind


def test_too_short_corpus_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus too short: 3 characters"):
        _prepare(tmp_path / "p.h5", text="abc", val_fraction=0.1)
    assert not (tmp_path / "p.h5").exists()


def test_check_fits_names_split_and_sizes(tmp_path: Path) -> None:
    p = _prepare(tmp_path / "p.h5")
    check_fits(p, 51)
    with pytest.raises(CorpusError, match="the val split has 52 characters, needs at least 53"):
        check_fits(p, 52)


def test_damaged_prepared_files_are_run_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(RunError, match="junk.h5 is not a readable HDF5 file"):
        open_prepared(junk)
    good = tmp_path / "good.h5"
    _prepare(good)
    truncated = tmp_path / "cut.h5"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(RunError, match="cut.h5 is not a readable HDF5 file"):
        open_prepared(truncated)
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["x"] = [1]
    with pytest.raises(RunError, match="is not a chargen prepared file"):
        open_prepared(tmp_path / "other.h5")
    with pytest.raises(RunError, match="prepared file not found"):
        open_prepared(tmp_path / "none.h5")


def test_windows_targets_are_inputs_shifted_by_one(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    p = _prepare(out)
    ds = make_dataset(out, "train", 10, 4, shuffle=True, seed=1)
    for x, y in ds:
        x, y = x.numpy(), y.numpy()
        assert x.shape == (4, 10) and y.shape == (4, 10)
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        for row_x, row_y in zip(x, y, strict=True):
            text = p.vocab.decode(row_x)
            assert text in TEXT
            # the target of the last input is the next character of the corpus
            assert p.vocab.decode(row_y)[-1] == TEXT[TEXT.index(text) + 10]


def test_dataset_runs_without_autotuning(tmp_path: Path) -> None:
    """tf.data's autotuner made every dropped iterator wait out its back-off sleep: seconds of
    idle CPU at the end of each epoch's `fit` (dataset.make_dataset)."""
    out = tmp_path / "p.h5"
    _prepare(out)
    ds = make_dataset(out, "train", 10, 4, shuffle=True, seed=1)
    assert ds.options().autotune.enabled is False


def test_unshuffled_windows_tile_the_split(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    _prepare(out)
    ids = read_ids(out, "train")
    batches = list(iter_batches(out, "train", 5, 3, shuffle=False, drop_remainder=False))
    windows = np.concatenate(batches)
    assert len(windows) == (len(ids) - 1) // 5 == 31
    np.testing.assert_array_equal(windows[:, :5].reshape(-1), ids[: 31 * 5])


def test_shuffle_is_deterministic_per_seed_and_epoch(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    _prepare(out)

    def run(seed: int, epoch: int) -> np.ndarray:
        return np.concatenate(
            list(iter_batches(out, "train", 8, 4, shuffle=True, seed=seed, epoch=epoch))
        )

    np.testing.assert_array_equal(run(1, 0), run(1, 0))
    assert not np.array_equal(run(1, 0), run(1, 1))
    assert not np.array_equal(run(1, 0), run(2, 0))


def test_skip_resumes_inside_an_epoch(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    _prepare(out)
    full = list(iter_batches(out, "train", 8, 4, shuffle=True, seed=5, epoch=2))
    rest = list(iter_batches(out, "train", 8, 4, shuffle=True, seed=5, epoch=2, skip=2))
    assert len(rest) == len(full) - 2
    for a, b in zip(full[2:], rest, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 400),
    seq_len=st.integers(1, 40),
    batch=st.integers(1, 9),
    shuffle=st.booleans(),
    drop=st.booleans(),
    seed=st.integers(0, 5),
)
def test_count_batches_matches_iteration(
    tmp_path_factory, n, seq_len, batch, shuffle, drop, seed
) -> None:
    out = tmp_path_factory.mktemp("cb") / "ids.h5"
    vocab = Vocab.from_text("ab")
    with h5py.File(out, "w") as h5:
        h5["train"] = np.arange(n, dtype=np.int64) % 2
    batches = list(
        iter_batches(out, "train", seq_len, batch, shuffle=shuffle, seed=seed, drop_remainder=drop)
    )
    assert len(batches) == count_batches(
        n, seq_len, batch, shuffle=shuffle, seed=seed, drop_remainder=drop
    )
    assert all(b.shape[1] == seq_len + 1 for b in batches)
    for b in batches:  # every window is consecutive ids
        assert np.all(np.diff(b, axis=1) % 2 == 1)
    del vocab


def test_suspended_generators_hold_no_h5py_object(tmp_path: Path) -> None:
    """tf.data frees a dropped generator's frame on its own thread, and freeing an h5py object
    (even a closed file) takes h5py's lock: with the main thread inside h5py at that moment
    training hung forever. No h5py object may be alive in a generator between batches."""
    from chargen.data.streams import iter_stream_batches

    out = tmp_path / "p.h5"
    _prepare(out, TEXT * 4)
    for gen in (
        iter_batches(out, "train", 10, 4, shuffle=True, seed=1),
        iter_stream_batches(out, "train", 10, 4),
    ):
        next(gen)
        held = [
            name
            for name, value in gen.gi_frame.f_locals.items()
            if type(value).__module__.startswith("h5py")
        ]
        assert held == []
        gen.close()
