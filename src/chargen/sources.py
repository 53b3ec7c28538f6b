"""Where corpus bytes come from: files, and Project Gutenberg ebooks by number."""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chargen.corpus import CleanOptions, CleanReport, CleanText, clean_bytes
from chargen.errors import CorpusError
from chargen.files import atomic_path

GUTENBERG_URL = "https://www.gutenberg.org"
_GUTENBERG = re.compile(r"^gutenberg:(\d+)$")


@dataclass(frozen=True)
class Corpus:
    """Cleaned text of every source in a `--corpus` spec, with a hash of the raw bytes."""

    stem: str
    sha256: str
    documents: list[CleanText] = field(default_factory=list)

    @property
    def reports(self) -> list[CleanReport]:
        return [d.report for d in self.documents]

    def chunks(self) -> Iterator[str]:
        """The training text in pieces; may be iterated more than once."""
        for doc in self.documents:
            yield doc.text


def gutenberg_path(book_id: int, data_dir: Path) -> Path:
    return data_dir / "gutenberg" / f"pg{book_id}.txt"


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
            raise CorpusError(
                f"Project Gutenberg has no ebook {book_id} ({url}: {exc.code})"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CorpusError(
                f"cannot download ebook {book_id} from {url}: {reason}; "
                "set CHARGEN_CORPUS_MIRROR to a local mirror"
            ) from exc
    else:
        local = Path(base) / rel
        if not local.is_file():
            raise CorpusError(f"no ebook {book_id} in mirror {base} (looked for {local})")
        data = local.read_bytes()
    with atomic_path(cached) as tmp:
        tmp.write_bytes(data)
    return cached


def resolve_paths(spec: str, *, data_dir: Path, mirror: str | None) -> list[Path]:
    match = _GUTENBERG.match(spec)
    if match:
        return [fetch_gutenberg(int(match.group(1)), data_dir=data_dir, mirror=mirror)]
    path = Path(spec)
    if not path.exists():
        raise CorpusError(f"corpus not found: {spec}")
    if path.is_dir():
        raise CorpusError(f"corpus {spec} is a directory; pass a text file")
    return [path]


def load_corpus(
    spec: str, options: CleanOptions, *, data_dir: Path, mirror: str | None = None
) -> Corpus:
    """Read and clean every source named by `spec`."""
    paths = resolve_paths(spec, data_dir=data_dir, mirror=mirror)
    digest = hashlib.sha256()
    documents = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CorpusError(f"cannot read corpus {path}: {exc.strerror}") from exc
        digest.update(data)
        documents.append(clean_bytes(data, options, source=str(path)))
    stem = paths[0].stem if len(paths) == 1 else "corpus"
    return Corpus(stem=stem, sha256=digest.hexdigest(), documents=documents)
