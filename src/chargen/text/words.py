"""Word-level cleaning with NLTK, for users who want the classic tutorials' corpus style.

NLTK data is looked up on NLTK's own search path (NLTK_DATA); nothing is ever downloaded here.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from functools import cache

from chargen.errors import CorpusError


def missing_data(package: str, exc: Exception | None = None) -> CorpusError:
    return CorpusError(
        f"NLTK data package {package!r} not found on the NLTK search path (NLTK_DATA); "
        f"install it with: python -m nltk.downloader {package}"
    )


def damaged_data(package: str, exc: Exception) -> CorpusError:
    return CorpusError(
        f"NLTK data package {package!r} is damaged ({exc}); "
        f"reinstall it with: python -m nltk.downloader {package}"
    )


@cache
def tokenizer() -> Callable[[str], list[str]]:
    """`RegexpTokenizer(r"\\w+")`: needs no NLTK data."""
    from nltk.tokenize import RegexpTokenizer

    return RegexpTokenizer(r"\w+").tokenize


@cache
def stopwords(language: str) -> frozenset[str]:
    """NLTK's stopword list for `language`; a missing package or language is a CorpusError."""
    from nltk.corpus import stopwords as corpus

    try:
        available = corpus.fileids()
        if language not in available:
            raise CorpusError(
                f"no NLTK stopwords for {language!r}; available: {', '.join(sorted(available))}"
            )
        return frozenset(w.lower() for w in corpus.words(language))
    except LookupError as exc:
        raise missing_data("stopwords", exc) from exc
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        raise damaged_data("stopwords", exc) from exc


def to_words(text: str, drop: frozenset[str] | None) -> list[str]:
    words = tokenizer()(text)
    if drop:
        words = [w for w in words if w.lower() not in drop]
    return words


def gutenberg_bytes(fileid: str) -> bytes:
    """Raw bytes of a file of NLTK's gutenberg corpus (`nltk:carroll-alice.txt`)."""
    from nltk.corpus import gutenberg

    try:
        available = gutenberg.fileids()
        if fileid not in available:
            raise CorpusError(
                f"NLTK's gutenberg corpus has no file {fileid!r}; available: {', '.join(available)}"
            )
        with gutenberg.abspath(fileid).open() as fh:
            return fh.read()
    except LookupError as exc:
        raise missing_data("gutenberg", exc) from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise damaged_data("gutenberg", exc) from exc
