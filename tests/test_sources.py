"""Corpus sources: files, directories, globs, stdin, Gutenberg ids (mirror dir or URL), NLTK."""

from __future__ import annotations

import functools
import http.client
import http.server
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chargen.errors import CorpusError
from chargen.text.clean import CleanOptions
from chargen.text.sources import DOC_SEPARATOR, fetch_gutenberg, load_corpus, resolve_sources
from tests.conftest import shipped
from tests.gutenberg_fixtures import era_bytes

MIRROR = shipped().mirror
WONDERLAND = shipped().wonderland


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server (127.0.0.1 only) serving the Gutenberg mirror."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(MIRROR))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _load(spec, tmp_path: Path, mirror: str | None = None, **kw):
    return load_corpus(spec, CleanOptions(**kw), data_dir=tmp_path / "data", mirror=mirror)


def test_several_files_are_cleaned_separately(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(era_bytes("2010s"))
    (tmp_path / "b.txt").write_bytes(b"Plain text.\n")
    corpus = _load([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], tmp_path)
    text = "".join(corpus.chunks())
    assert text == (
        "THE TIME MACHINE\n\nThe Time Traveller (for so it will be convenient to speak\n"
        + DOC_SEPARATOR
        + "Plain text.\n"
    )
    assert text == "".join(corpus.chunks())  # re-iterable
    assert [r.removed_top for r in corpus.reports] == [12, 0]
    assert corpus.stem == "corpus"


def test_directory_and_glob_take_text_files_in_order(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "2.txt").write_text("two\n")
    (tmp_path / "d" / "1.txt").write_text("one\n")
    (tmp_path / "d" / "img.png").write_bytes(b"\x89PNG\x00")
    by_dir = _load(str(tmp_path / "d"), tmp_path)
    assert "".join(by_dir.chunks()) == "one\n" + DOC_SEPARATOR + "two\n"
    by_glob = _load(str(tmp_path / "d" / "*.txt"), tmp_path)
    assert [d.source for d in by_glob.documents] == [
        str(tmp_path / "d" / "1.txt"),
        str(tmp_path / "d" / "2.txt"),
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: str(p / "nope.txt"), "corpus not found: {p}/nope.txt"),
        (lambda p: (p / "e").mkdir() or str(p / "e"),
         "no text files (.txt, .text, .md, .rst) in directory {p}/e"),
        (lambda p: str(p / "*.none"), "no text files match {p}/*.none"),
    ],
)  # fmt: skip
def test_missing_sources(tmp_path: Path, make, message: str) -> None:
    spec = make(tmp_path)
    with pytest.raises(CorpusError) as err:
        _load(spec, tmp_path)
    assert str(err.value) == message.format(p=tmp_path)


def test_gutenberg_id_from_mirror_dir_is_cached(tmp_path: Path) -> None:
    corpus = _load("gutenberg:11", tmp_path, mirror=str(MIRROR))
    cached = tmp_path / "data" / "gutenberg" / "pg11.txt"
    assert cached.read_bytes() == (MIRROR / "cache/epub/11/pg11.txt").read_bytes()
    assert corpus.stem == "gutenberg-11"
    assert corpus.reports[0].first_line == "ALICE'S ADVENTURES IN WONDERLAND"
    # Cached: no mirror needed any more.
    assert fetch_gutenberg(11, data_dir=tmp_path / "data", mirror="/nonexistent") == cached


def test_gutenberg_id_over_http(tmp_path: Path, server: str) -> None:
    path = fetch_gutenberg(11, data_dir=tmp_path / "data", mirror=server)
    assert path.read_bytes() == (MIRROR / "cache/epub/11/pg11.txt").read_bytes()
    with pytest.raises(CorpusError) as err:
        fetch_gutenberg(99999, data_dir=tmp_path / "data", mirror=server)
    assert str(err.value) == (
        f"Project Gutenberg has no ebook 99999 ({server}/cache/epub/99999/pg99999.txt: HTTP 404)"
    )
    assert not (tmp_path / "data" / "gutenberg" / "pg99999.txt").exists()


def test_gutenberg_without_network_or_mirror(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"^cannot download ebook 5 from http://127\.0\.0\.1:9/"):
        fetch_gutenberg(5, data_dir=tmp_path, mirror="http://127.0.0.1:9")
    with pytest.raises(CorpusError) as err:
        fetch_gutenberg(12, data_dir=tmp_path, mirror=str(MIRROR))
    assert str(err.value) == (
        f"no ebook 12 in mirror {MIRROR} (looked for {MIRROR}/cache/epub/12/pg12.txt)"
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")),
         "[Errno -3] Temporary failure in name resolution"),
        (TimeoutError("timed out"), "timed out"),
        (http.client.IncompleteRead(b"abc", 7), "IncompleteRead(3 bytes read, 7 more expected)"),
        (urllib.error.HTTPError("u", 503, "Service Unavailable", None, None), "HTTP 503"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_a_failed_download_says_how_to_work_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, reason: str
) -> None:
    """No network (urlopen fails as it does offline): one line with the URL, the reason and
    what to set instead; nothing is cached, and nothing went out to gutenberg.org."""

    def offline(url: str, timeout: float):
        assert url == "https://www.gutenberg.org/cache/epub/11/pg11.txt"
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    cached = tmp_path / "data" / "gutenberg" / "pg11.txt"
    with pytest.raises(CorpusError) as err:
        fetch_gutenberg(11, data_dir=tmp_path / "data", mirror=None)
    assert str(err.value) == (
        f"cannot download ebook 11 from https://www.gutenberg.org/cache/epub/11/pg11.txt: "
        f"{reason}; set CHARGEN_CORPUS_MIRROR to a folder or URL holding "
        f"cache/epub/11/pg11.txt, or save the ebook as {cached}"
    )
    assert not cached.parent.exists()


def test_nltk_gutenberg_file(tmp_path: Path) -> None:
    corpus = _load("nltk:carroll-alice.txt", tmp_path)
    r = corpus.reports[0]
    assert r.first_line == "[Alice's Adventures in Wonderland by Lewis Carroll 1865]"
    assert r.last_line == "remembering her own child-life, and the happy summer days."
    assert corpus.stem == "nltk-carroll-alice"
    with pytest.raises(CorpusError) as err:
        _load("nltk:nope.txt", tmp_path)
    assert str(err.value) == (
        "NLTK's gutenberg corpus has no file 'nope.txt'; available: carroll-alice.txt, "
        "chesterton-ball.txt, milton-paradise.txt, shakespeare-caesar.txt"
    )


def test_stdin_cannot_be_mixed(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as err:
        resolve_sources(["-", str(WONDERLAND)], data_dir=tmp_path, mirror=None)
    assert str(err.value) == "--corpus - (stdin) cannot be combined with other sources"


def test_directory_skips_hidden_and_extensionless_files(tmp_path: Path) -> None:
    d = tmp_path / "books"
    (d / ".git").mkdir(parents=True)
    (d / "one.txt").write_text("Book one.\n")
    (d / "README").write_text("# readme\n")
    (d / "Makefile").write_text("all:\n")
    (d / ".hidden.txt").write_text("hidden\n")
    (d / ".DS_Store").write_bytes(b"\x00\x01binary")
    (d / ".git" / "notes.txt").write_text("git\n")
    corpus = _load(str(d), tmp_path)
    assert [doc.source for doc in corpus.documents] == [str(d / "one.txt")]


def test_a_file_named_like_a_glob_is_that_file(tmp_path: Path) -> None:
    path = tmp_path / "Alice [1865].txt"
    path.write_text("Alice.\n")
    assert "".join(_load(str(path), tmp_path).chunks()) == "Alice.\n"


def test_a_pipe_is_read_once_and_spooled(tmp_path: Path) -> None:
    """`--corpus <(cmd)` and named pipes: cleaning reads a source several times."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"from a pipe\nline two\n"))
    writer.start()
    corpus = _load(str(fifo), tmp_path)
    writer.join(timeout=10)
    assert "".join(corpus.chunks()) == "from a pipe\nline two\n"
    assert "".join(corpus.chunks()) == "from a pipe\nline two\n"


def test_closed_stdin_and_unwritable_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(CorpusError, match=r"^--corpus - reads stdin, but stdin is closed$"):
        _load("-", tmp_path)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(CorpusError) as err:
        fetch_gutenberg(11, data_dir=blocked, mirror=str(MIRROR))
    assert str(err.value).startswith(f"cannot save ebook 11 under {blocked}/gutenberg: ")
    assert str(err.value).endswith("; choose a writable --data-dir")


def test_every_nltk_gutenberg_book_is_kept_whole_without_licence(tmp_path: Path) -> None:
    """NLTK's ebooks span the 1990s-2000s conventions: no start marker (all), small print
    after the end (chesterton-ball), Ctrl-Z at the end (milton-paradise), cp1252 (caesar,
    chesterton-ball). Each keeps its text and none of the licence. tests/data ships those
    three, two of them as excerpts of the lines that carry the convention, and Alice."""
    from nltk.corpus import gutenberg

    for fileid in gutenberg.fileids():
        corpus = _load(f"nltk:{fileid}", tmp_path)
        text = "".join(corpus.chunks())
        assert len(text) > 30_000, fileid
        assert "gutenberg" not in text.lower(), fileid
        assert "\x1a" not in text, fileid
        assert corpus.reports[0].first_line.startswith("["), fileid  # "[Title by Author 1850]"


def test_a_glob_through_a_symlink_loop_takes_each_file_once(tmp_path: Path) -> None:
    d = tmp_path / "dd"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a.txt").write_text("Once.\n")
    (d / "sub" / "loop").symlink_to("..")
    corpus = _load(str(d / "**" / "*.txt"), tmp_path)
    assert [doc.source for doc in corpus.documents] == [str(d / "sub" / "a.txt")]


def test_a_file_named_by_two_specs_is_an_error(tmp_path: Path) -> None:
    """Read twice, a file would count double; a directory and a file in it, the same file
    under two names (a symlink) or the same spec twice all name it twice."""
    books = tmp_path / "books"
    books.mkdir()
    (books / "a.txt").write_text("alpha\n")
    (books / "b.txt").write_text("beta\n")
    (tmp_path / "link.txt").symlink_to(books / "a.txt")
    for specs in (
        [str(books), str(books / "a.txt")],
        [str(books / "a.txt"), str(tmp_path / "link.txt")],
        [str(books / "b.txt"), str(books / "b.txt")],
    ):
        with pytest.raises(CorpusError, match="is named twice in --corpus"):
            resolve_sources(specs, data_dir=tmp_path, mirror=None)
    both = resolve_sources(
        [str(books / "a.txt"), str(books / "b.txt")], data_dir=tmp_path, mirror=None
    )
    assert [s.stem for s in both] == ["a", "b"]
