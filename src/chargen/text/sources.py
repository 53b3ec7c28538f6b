"""Where corpus bytes come from: files, directories, globs, stdin, Gutenberg and NLTK ebooks."""

from __future__ import annotations

import glob
import hashlib
import http.client
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from chargen.errors import CorpusError
from chargen.files import atomic_path
from chargen.text.clean import CleanOptions, CleanReport, Transform
from chargen.text.document import Document, Opener, bytes_opener, file_opener
from chargen.text.words import gutenberg_bytes

GUTENBERG_URL = "https://www.gutenberg.org"
DOC_SEPARATOR = "\n\n"  # between documents, after each one's final newline
TEXT_SUFFIXES = (".txt", ".text", ".md", ".rst")
_GUTENBERG = re.compile(r"^gutenberg:(\d+)$")
_NLTK = re.compile(r"^nltk:(.+)$")


@dataclass(frozen=True)
class Source:
    name: str
    opener: Opener
    stem: str
    path: Path | None = None  # the file read, where there is one (not stdin, not nltk:)


@dataclass(frozen=True)
class Corpus:
    """Every source in a `--corpus` spec, each cleaned separately, with a hash of the bytes."""

    stem: str
    sha256: str
    documents: list[Document] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)  # files the documents are read from

    @property
    def reports(self) -> list[CleanReport]:
        return [d.report for d in self.documents]

    def chunks(self) -> Iterator[str]:
        """The training text in pieces; may be iterated more than once."""
        for i, doc in enumerate(self.documents):
            if i:
                yield DOC_SEPARATOR if Transform(doc.options).keeps_newline else " "
            yield from doc.chunks()


def gutenberg_path(book_id: int, data_dir: Path) -> Path:
    return data_dir / "gutenberg" / f"pg{book_id}.txt"


def _unreachable(book_id: int, url: str, reason: str, rel: str, cached: Path) -> CorpusError:
    """Offline (or the server failing), say how to go on without gutenberg.org."""
    return CorpusError(
        f"cannot download ebook {book_id} from {url}: {reason}; set CHARGEN_CORPUS_MIRROR to "
        f"a folder or URL holding {rel}, or save the ebook as {cached}"
    )


def fetch_gutenberg(book_id: int, *, data_dir: Path, mirror: str | None) -> Path:
    """The ebook's plain text, from the cache under data/ or downloaded once into it.

    `mirror` (CHARGEN_CORPUS_MIRROR) is a directory or base URL with Gutenberg's layout
    (`cache/epub/ID/pgID.txt`) used instead of gutenberg.org.
    """
    cached = gutenberg_path(book_id, data_dir)
    if cached.is_file():
        return cached
    rel = f"cache/epub/{book_id}/pg{book_id}.txt"
    base = mirror or GUTENBERG_URL
    if "://" in base:
        url = f"{base.rstrip('/')}/{rel}"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                data = resp.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410):
                raise CorpusError(
                    f"Project Gutenberg has no ebook {book_id} ({url}: HTTP {exc.code})"
                ) from exc
            raise _unreachable(book_id, url, f"HTTP {exc.code}", rel, cached) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            # one line whatever the reason: some carry newlines, some print as ''
            reason = " ".join(str(getattr(exc, "reason", exc)).split()) or type(exc).__name__
            raise _unreachable(book_id, url, reason, rel, cached) from exc
    else:
        local = Path(base) / rel
        if not local.is_file():
            raise CorpusError(f"no ebook {book_id} in mirror {base} (looked for {local})")
        data = local.read_bytes()
    try:
        with atomic_path(cached) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise CorpusError(
            f"cannot save ebook {book_id} under {cached.parent}: {exc.strerror}; "
            "choose a writable --data-dir"
        ) from exc
    return cached


def _spool(stream: BinaryIO) -> Opener:
    """Copy a stream (stdin, a pipe) to an anonymous temporary file: it can be read once,
    cleaning needs several passes, and a large pipe must not be held in memory."""
    spool = tempfile.TemporaryFile()
    shutil.copyfileobj(stream, spool, 1 << 20)
    spool.flush()

    def opener() -> BinaryIO:
        fh = os.fdopen(os.dup(spool.fileno()), "rb")
        fh.seek(0)
        return fh

    weakref.finalize(opener, spool.close)  # the spool lives as long as its documents
    return opener


def _file(path: Path) -> Source:
    return Source(str(path), file_opener(str(path)), path.stem, path)


def _pipe(path: Path) -> Source:
    """A FIFO or /dev/fd/N (`--corpus <(cmd)`): its bytes can be read only once."""
    try:
        with open(path, "rb") as fh:
            opener = _spool(fh)
    except OSError as exc:
        raise CorpusError(f"cannot read corpus {path}: {exc.strerror}") from exc
    return Source(str(path), opener, path.stem)


def _text_files(paths: list[Path]) -> list[Path]:
    """Text files among `paths`, sorted, each file once (a `**` glob follows symlinked
    folders, so a loop lists the same file under many names)."""
    found, seen = [], set()
    for p in sorted(p for p in paths if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES):
        if os.path.realpath(p) not in seen:
            seen.add(os.path.realpath(p))
            found.append(p)
    return found


def _directory_files(root: Path) -> list[Path]:
    """Text files under `root`, skipping hidden files and folders (.git, .DS_Store, ...)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in files if not f.startswith(".")]
    return _text_files(found)


def resolve_sources(
    spec: str | Sequence[str], *, data_dir: Path, mirror: str | None
) -> list[Source]:
    """Sources named by one spec or several (files, directories, globs, `-`, ids).

    A file that two specs both name (`--corpus books/ --corpus books/alice.txt`) is an error:
    read twice, it would silently count double in training and in validation.
    """
    specs = [spec] if isinstance(spec, str) else list(spec)
    if not specs:
        raise CorpusError("no corpus given")
    if "-" in specs and len(specs) > 1:
        raise CorpusError("--corpus - (stdin) cannot be combined with other sources")
    sources, named_by = [], {}
    for one in specs:
        for source in _resolve_one(one, data_dir=data_dir, mirror=mirror):
            key = os.path.realpath(source.path) if source.path is not None else None
            if key in named_by:
                raise CorpusError(
                    f"{source.name} is named twice in --corpus ({named_by[key]!r} and "
                    f"{one!r}): give each file once"
                )
            if key is not None:
                named_by[key] = one
            sources.append(source)
    return sources


def _resolve_one(spec: str, *, data_dir: Path, mirror: str | None) -> list[Source]:
    if spec == "-":
        if sys.stdin is None:
            raise CorpusError("--corpus - reads stdin, but stdin is closed")
        return [Source("<stdin>", _spool(sys.stdin.buffer), "stdin")]
    if not spec.strip():
        raise CorpusError("--corpus is empty: name a file, directory, glob or -")
    match = _GUTENBERG.match(spec)
    if match:
        book = int(match.group(1))
        path = fetch_gutenberg(book, data_dir=data_dir, mirror=mirror)
        return [Source(spec, file_opener(str(path)), f"gutenberg-{book}", path)]
    match = _NLTK.match(spec)
    if match:
        data = gutenberg_bytes(match.group(1))
        return [Source(spec, bytes_opener(data), "nltk-" + Path(match.group(1)).stem)]
    path = Path(spec)
    if glob.has_magic(spec) and not path.exists():  # `Alice [1865].txt` is a file, not a glob
        found = _text_files([Path(p) for p in glob.glob(spec, recursive=True)])
        if not found:
            raise CorpusError(f"no text files match {spec}")
        return [_file(p) for p in found]
    if not path.exists():
        raise CorpusError(f"corpus not found: {spec}")
    if path.is_dir():
        found = _directory_files(path)
        if not found:
            raise CorpusError(f"no text files (.txt, .text, .md, .rst) in directory {spec}")
        return [_file(p) for p in found]
    if not path.is_file():
        return [_pipe(path)]
    return [_file(path)]


def spec_stem(sources: list[Source]) -> str:
    return sources[0].stem if len(sources) == 1 else "corpus"


def load_corpus(
    spec: str | Sequence[str],
    options: CleanOptions,
    *,
    data_dir: Path,
    mirror: str | None = None,
    sources: list[Source] | None = None,
) -> Corpus:
    """Check every source named by `spec` (one pass each); cleaning happens as chunks stream."""
    if sources is None:
        sources = resolve_sources(spec, data_dir=data_dir, mirror=mirror)
    documents = [Document(s.name, s.opener, options) for s in sources]
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(doc.sha256.encode())
    paths = [s.path for s in sources if s.path is not None]
    return Corpus(spec_stem(sources), digest.hexdigest(), documents, paths)
