"""Every path inside a run directory, finding runs, and the run's own files.

The one owner of config.json, run.json and metrics.csv: every other module asks here, so the
formats (docs/formats.md) are written and read in one place.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chargen import __version__
from chargen.config import Config
from chargen.data.vocab import Vocab
from chargen.errors import ConfigError, RunError
from chargen.files import write_text_atomic

if TYPE_CHECKING:
    from chargen.data.prepared import Prepared

LATEST = "latest"
# run.json `kind`: which commands a run belongs to (absent in runs before autoencoders)
KIND_LANGUAGE_MODEL = "language-model"
KIND_AUTOENCODER = "autoencoder"
_KIND_COMMANDS = {KIND_LANGUAGE_MODEL: "chargen sample", KIND_AUTOENCODER: "chargen autoencoder"}


@dataclass(frozen=True)
class RunDir:
    """A run directory: config, vocabulary, weights, metrics and logs of one training run."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def vocab(self) -> Path:
        return self.path / "vocab.json"

    @property
    def best_weights(self) -> Path:
        return self.path / "best.weights.h5"

    @property
    def last_weights(self) -> Path:
        return self.path / "last.weights.h5"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.h5"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    @property
    def meta(self) -> Path:
        return self.path / "run.json"

    def weights_for_sampling(self) -> Path:
        """Best weights when validation produced them, else the last ones."""
        for candidate in (self.best_weights, self.last_weights):
            if candidate.is_file():
                return candidate
        raise RunError(f"run directory {self.path} has no weights (best.weights.h5)")


@dataclass(frozen=True)
class EpochStats:
    """One row of metrics.csv: losses in nats per character, bits per character, speed."""

    epoch: int
    train_loss: float
    val_loss: float
    val_bpc: float
    chars_per_s: float  # timing column: differs between identical runs
    seconds: float  # timing column: training seconds of the epoch so far
    step: int = 0  # optimizer steps so far (unique per row; rows also come every --eval-every)
    learning_rate: float = 0.0
    # 1: the weights of an unfinished epoch (--eval-every, or a budget that ended inside it)
    partial: int = 0


METRIC_FIELDS = [f.name for f in fields(EpochStats)]


def corpus_stem(corpus: str | tuple[str, ...] | None, data: Path | None = None) -> str:
    """The corpus part of a default run name: `wonderland`, `gutenberg-11`, `corpus`."""
    if data is not None:
        return data.stem
    if not isinstance(corpus, str):
        return "corpus"
    stem = Path(corpus).stem if ":" not in corpus else corpus.replace(":", "-")
    return re.sub(r"[^\w.-]+", "-", stem).strip("-.") or "corpus"  # globs, `-`


def default_run_name(corpus_stem: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", corpus_stem).strip("-") or "corpus"
    return f"{stamp}-{stem}"


def create_run_dir(runs_root: Path, run_dir: Path | None, corpus_stem: str) -> RunDir:
    """Make a new run directory (never reusing one that holds a run) and point latest at it."""
    path = run_dir if run_dir is not None else runs_root / default_run_name(corpus_stem)
    if path.exists() and any(path.iterdir()):
        raise RunError(f"run directory {path} is not empty; choose another --run-dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create run directory {path}: {exc.strerror}") from exc
    if run_dir is None or path.parent.resolve() == runs_root.resolve():
        point_latest(runs_root, path)
    return RunDir(path)


def point_latest(runs_root: Path, target: Path) -> None:
    """Atomically repoint `runs_root/latest` (a relative symlink) at `target`."""
    link = runs_root / LATEST
    tmp = runs_root / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        tmp.symlink_to(os.path.relpath(target.resolve(), runs_root.resolve()))
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)


def resolve_run(run: Path | None, runs_root: Path, *, kind: str = KIND_LANGUAGE_MODEL) -> RunDir:
    """The run a user named, or `runs_root/latest`; it must hold a config and a vocabulary and
    be of `kind`, so a language-model command never reads an autoencoder's files, or back."""
    path = run if run is not None else runs_root / LATEST
    if str(path) == LATEST:
        path = runs_root / LATEST
    if path.name == LATEST and path.is_symlink():
        # name the run itself: `latest` moves when the next run starts (resume hints, reports)
        path = path.parent / os.readlink(path)
    if not path.is_dir():
        if run is None:
            raise RunError(f"no run found at {path}; train one first or name its directory")
        raise RunError(f"run directory not found: {path}")
    rd = RunDir(path)
    for required in (rd.config, rd.vocab):
        if not required.is_file():
            raise RunError(f"{path} is not a chargen run directory (missing {required.name})")
    actual = run_kind(rd)
    if actual != kind:
        use = _KIND_COMMANDS.get(actual, "another chargen")
        raise RunError(f"{path} is {_a(actual)} run, not {_a(kind)} run; use it with {use}")
    return rd


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def run_kind(run: RunDir) -> str:
    """What a run holds: `language-model` (also runs whose run.json predates the field)."""
    kind = read_meta(run).get("kind", KIND_LANGUAGE_MODEL)
    return kind if isinstance(kind, str) else KIND_LANGUAGE_MODEL


def read_config_data(run: RunDir) -> dict[str, Any]:
    """config.json as plain data (read_run_config, and run kinds whose config is not a
    language-model Config)."""
    try:
        data = json.loads(run.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"cannot read {run.config}: {exc}") from exc
    if not isinstance(data, dict):
        raise RunError(f"{run.config} is damaged: not a JSON object")
    return data


def write_config_text(run: RunDir, text: str) -> None:
    write_text_atomic(run.config, text)


def write_meta(run: RunDir, meta: dict[str, Any]) -> None:
    write_text_atomic(run.meta, json.dumps(meta, indent=2) + "\n")


def write_metric_rows(run: RunDir, names: list[str], rows: list[dict[str, Any]]) -> None:
    """metrics.csv with the columns of another run kind (the autoencoder's accuracies)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _number(v) for k, v in row.items()})
    write_text_atomic(run.metrics, buf.getvalue())


def read_run_config(run: RunDir) -> Config:
    """The resolved config a run was trained with; damage is a RunError naming the file."""
    data = read_config_data(run)
    try:
        return Config.from_dict(data, source=str(run.config))
    except ConfigError as exc:
        raise RunError(f"{run.config} is damaged or from another chargen version: {exc}") from exc


def read_metrics(run: RunDir) -> list[dict[str, float]]:
    """The rows of metrics.csv as numbers; an absent file means no epoch has finished yet."""
    if not run.metrics.is_file():
        return []
    try:
        with open(run.metrics, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        return [{k: float(v) for k, v in row.items()} for row in rows]
    except (OSError, ValueError, TypeError) as exc:
        raise RunError(f"cannot read {run.metrics}: {exc}") from exc


def read_meta(run: RunDir) -> dict[str, Any]:
    """run.json as a dict ({} when the run has none)."""
    if not run.meta.is_file():
        return {}
    try:
        data = json.loads(run.meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"cannot read {run.meta}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def write_run_header(
    run: RunDir, config: Config, prepared: Prepared, *, mixed_precision: str | None = None
) -> None:
    """Everything sampling needs besides weights: resolved config, vocabulary, provenance;
    and the compute dtype, which a resume must reuse."""
    write_run_config(run, config)
    prepared.vocab.save(run.vocab)
    meta = {
        "chargen_version": __version__,
        "kind": KIND_LANGUAGE_MODEL,
        "prepared": str(prepared.path),
        "source_sha256": prepared.sha256,
        "sources": json.loads(str(prepared.attrs.get("sources", "[]"))),
        "sizes": prepared.sizes,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mixed_precision": mixed_precision,
    }
    write_text_atomic(run.meta, json.dumps(meta, indent=2) + "\n")


def write_run_config(run: RunDir, config: Config) -> None:
    write_text_atomic(run.config, config.to_json())


def write_metrics(run: RunDir, history: list[EpochStats]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _number(v) for k, v in asdict(row).items()})
    write_text_atomic(run.metrics, buf.getvalue())


def _number(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def prepared_path(run: RunDir) -> Path:
    """The prepared file a run was trained on, from run.json."""
    value = read_meta(run).get("prepared")
    if not isinstance(value, str) or not value:
        raise RunError(f"cannot read {run.meta}; pass --data or --corpus")
    return Path(value)


def check_resumable(run: RunDir, prepared: Prepared) -> None:
    """The data must be the data the run started on; its vocabulary the run's vocabulary."""
    try:
        meta = json.loads(run.meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {run.meta}: the run directory is damaged") from exc
    major = __version__.split(".")[0]
    if not isinstance(meta, dict) or str(meta.get("chargen_version")).split(".")[0] != major:
        raise RunError(f"{run.path} was written by an incompatible chargen version")
    if meta.get("source_sha256") != prepared.sha256:
        raise RunError(f"{prepared.path} holds other text than the run {run.path} was trained on")
    if Vocab.load(run.vocab) != prepared.vocab:
        raise RunError(f"{run.vocab} does not match the vocabulary of {prepared.path}")
