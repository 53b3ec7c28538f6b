"""Shared fixtures: a tiny corpus, a tiny config, a CliRunner and one trained run per session."""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"  # what each file is and where it came from: data/SOURCES.md


@dataclass(frozen=True)
class Shipped:
    """tests/data unpacked into the files and folders the tests and chargen read."""

    base: Path
    wonderland: Path  # Gutenberg ebook #11 as published: header, book, footer, CRLF
    shakespeare: Path  # the first 4,999 lines of tiny Shakespeare
    mirror: Path  # a Project Gutenberg mirror holding ebook #11 (CHARGEN_CORPUS_MIRROR)
    nltk_data: Path  # an NLTK data folder: English stopwords and four gutenberg texts
    hamlet: Path  # 90 lines of NLTK's Hamlet around "To be, or not to be" (300 word types)


def _gunzip(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(gzip.decompress(src.read_bytes()))
    return dest


@functools.cache
def shipped() -> Shipped:
    """The shipped data, unpacked once per test session into a temporary folder.

    A function rather than constants so that importing conftest writes nothing; test modules
    call it at import (`WONDERLAND = shipped().wonderland`), paths stay fixed for the session
    (exact messages quote them), and `pytest_unconfigure` removes the folder. The files are
    made read-only: a test that altered one would change what every later test reads.
    """
    base = Path(tempfile.mkdtemp(prefix="chargen-tests-"))
    wonderland = _gunzip(DATA / "wonderland.txt.gz", base / "corpora" / "wonderland.txt")
    shakespeare = _gunzip(
        DATA / "tinyshakespeare-head.txt.gz", base / "corpora" / "tinyshakespeare.txt"
    )
    hamlet = _gunzip(DATA / "hamlet-soliloquy.txt.gz", base / "corpora" / "hamlet.txt")
    mirror = base / "gutenberg-mirror"
    (mirror / "cache" / "epub" / "11").mkdir(parents=True)
    shutil.copyfile(wonderland, mirror / "cache" / "epub" / "11" / "pg11.txt")
    # NLTK reads a plain folder (corpora/stopwords/english) as it reads the zip of that name.
    nltk_data = base / "nltk_data"
    (nltk_data / "corpora" / "stopwords").mkdir(parents=True)
    for words in sorted((DATA / "stopwords").iterdir()):
        shutil.copyfile(words, nltk_data / "corpora" / "stopwords" / words.name)
    for book in sorted((DATA / "nltk_gutenberg").glob("*.txt.gz")):
        _gunzip(book, nltk_data / "corpora" / "gutenberg" / book.name.removesuffix(".gz"))
    for path in base.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    return Shipped(base, wonderland, shakespeare, mirror, nltk_data, hamlet)


def pytest_unconfigure(config: pytest.Config) -> None:
    if shipped.cache_info().currsize:
        shutil.rmtree(shipped().base, ignore_errors=True)


TINY_TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank,\n"
    "and of having nothing to do: once or twice she had peeped into the book her\n"
    "sister was reading, but it had no pictures or conversations in it, \u2018and what\n"
    "is the use of a book,\u2019 thought Alice \u2018without pictures or conversations?\u2019\n"
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9: the Queen of Hearts, she made some tarts.\n"
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts without the user's CHARGEN_* settings, with offline mirrors set."""
    for key in list(os.environ):
        if key.startswith("CHARGEN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CHARGEN_CORPUS_MIRROR", str(shipped().mirror))
    monkeypatch.setenv("NLTK_DATA", str(shipped().nltk_data))
    monkeypatch.setenv("CHARGEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHARGEN_RUNS_DIR", str(tmp_path / "runs"))
    yield


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """About 400 characters with curly quotes and accents, repeated so windows fit both splits."""
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT * 6, encoding="utf-8")
    return path


@pytest.fixture
def tiny_config():
    from chargen.config import Config

    return Config(
        layers=1,
        units=8,
        embedding_dim=4,
        seq_len=16,
        batch_size=8,
        epochs=1,
        learning_rate=0.01,
        rng_seed=0,
    )


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory):
    """One small run on Alice (2 epochs), trained once and shared by read-only tests."""
    from chargen.config import Config
    from chargen.data.prepare import prepare_corpus
    from chargen.runs.rundir import create_run_dir
    from chargen.text.clean import CleanOptions
    from chargen.train.run import train

    base = tmp_path_factory.mktemp("trained")
    result = prepare_corpus(
        str(shipped().wonderland), CleanOptions(), val_fraction=0.1, data_dir=base / "data"
    )
    config = Config(
        layers=2,
        units=32,
        embedding_dim=8,
        seq_len=32,
        batch_size=32,
        epochs=2,
        learning_rate=0.01,
        steps_per_epoch=40,
        rng_seed=3,
    )
    run = create_run_dir(base / "runs", None, "wonderland")
    train(config, result.prepared, run)
    return run


@pytest.fixture
def tiny_prepared(tiny_corpus: Path, tmp_path: Path):
    """The tiny corpus prepared to HDF5 (16 steps per epoch with tiny_config)."""
    from chargen.data.prepare import prepare_corpus
    from chargen.text.clean import CleanOptions

    return prepare_corpus(
        str(tiny_corpus), CleanOptions(), val_fraction=0.1, data_dir=tmp_path / "data"
    ).prepared


def xor_bytes(path: Path, offset: int, count: int, mask: int) -> None:
    """Alter `count` bytes in place, as bit rot would, leaving the rest of the file as it was."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        raw = fh.read(count)
        fh.seek(offset)
        fh.write(bytes(b ^ mask for b in raw))


def flip_id_bytes(path: Path, split: str) -> None:
    """Bit rot inside the ids of one split; the HDF5 structure and header stay intact."""
    import h5py

    with h5py.File(path, "r") as h5:
        offset = h5[split].id.get_chunk_info(0).byte_offset + 16
    xor_bytes(path, offset, 4, 0x01)
