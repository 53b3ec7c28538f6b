"""`chargen clean` and the corpus side of `chargen prepare`: exact output, clean failures."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from chargen.cli import main
from tests.conftest import shipped
from tests.gutenberg_fixtures import ERAS, era_bytes

WONDERLAND = shipped().wonderland

WONDERLAND_SUMMARY = (
    f'{WONDERLAND}: removed 31 header lines and 366 footer lines (start "*** START OF THIS '
    'PROJECT GUTENBERG EBOOK ALICE\'S ADVENTURES IN WONDERLAND ***", end "End of Project '
    "Gutenberg's Alice's Adventures in Wonderland, by Lewis Carroll\"); encoding utf-8\n"
    '  first kept line: "ALICE\'S ADVENTURES IN WONDERLAND"\n'
    "  last kept line:  'THE END'\n"
)


def test_clean_writes_the_book_and_a_summary(runner: CliRunner) -> None:
    result = runner.invoke(main, ["clean", "--corpus", str(WONDERLAND), "--no-lowercase"])
    assert result.exit_code == 0
    lines = result.stdout.split("\n")
    assert lines[0] == "ALICE'S ADVENTURES IN WONDERLAND"
    assert lines[-2:] == ["              THE END", ""]
    assert result.stderr == WONDERLAND_SUMMARY + "144,431 characters\n"


def test_clean_options_and_stdin(runner: CliRunner) -> None:
    data = "\u201cCaf\u00e9,\u201d she said.\r\n".encode()
    result = runner.invoke(main, ["clean", "--corpus", "-", "--ascii", "--lowercase"], input=data)
    assert result.exit_code == 0
    assert result.stdout == '"cafe," she said.\n'
    assert result.stderr.splitlines()[0] == (
        "Notice: <stdin>: no Project Gutenberg markers; kept whole"
    )
    result = runner.invoke(
        main, ["clean", "--corpus", "-", "--keep-chars", "[a-z ]"], input=b"Abc d!\n"
    )
    assert result.stdout == "bc d"  # the filter drops line breaks too


def test_clean_reads_a_utf16_copy_of_the_book(runner: CliRunner, tmp_path: Path) -> None:
    """Wonderland saved as Windows "Unicode" (UTF-16 LE with its mark, CRLF): the same book."""
    wide = tmp_path / "wonderland-utf16.txt"
    wide.write_bytes(WONDERLAND.read_bytes().decode("ascii").encode("utf-16"))
    expected = runner.invoke(main, ["clean", "--corpus", str(WONDERLAND)])
    result = runner.invoke(main, ["clean", "--corpus", str(wide)])
    assert result.exit_code == 0
    assert result.stdout == expected.stdout
    assert result.stderr == expected.stderr.replace(str(WONDERLAND), str(wide)).replace(
        "encoding utf-8", "encoding utf-16"
    )


def test_clean_no_strip_and_latin1(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "fr.txt"
    path.write_bytes(era_bytes("2000s"))
    stripped = runner.invoke(main, ["clean", "--corpus", str(path)])
    assert stripped.stdout == "\n".join(ERAS["2000s"][1]) + "\n"
    assert "encoding cp1252" in stripped.stderr
    whole = runner.invoke(main, ["clean", "--corpus", str(path), "--no-strip"])
    assert whole.stdout.startswith("The Project Gutenberg EBook of Le tour du monde")
    assert whole.stdout.endswith("PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK\n")
    assert "removed 0 header lines and 1 footer lines (no markers)" in whole.stderr


def test_removed_notes_are_listed_before_the_first_kept_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The summary shows each production note cut at the top, so a user can check the cut."""
    path = tmp_path / "fr.txt"
    path.write_bytes(era_bytes("2000s"))
    result = runner.invoke(main, ["clean", "--corpus", str(path), "--no-lowercase"])
    assert result.exit_code == 0
    assert (
        "  removed note:    'Produced by Carlo Traverso, Anne Dreze and the Online'\n"
        "  first kept line: 'LE TOUR DU MONDE EN QUATRE-VINGTS JOURS'\n"
    ) in result.stderr
    out = tmp_path / "fr.h5"
    args = ["prepare", "--corpus", str(path), "--out", str(out), "--seq-len", "8"]
    prepared = runner.invoke(main, [*args, "--show-cleaning"])
    assert prepared.exit_code == 0, prepared.output
    assert "  removed note:    'Produced by Carlo Traverso" in prepared.stderr + prepared.stdout
    out.unlink()
    plain = runner.invoke(main, args)
    assert "removed note" not in plain.stderr + plain.stdout


def test_prepare_shows_the_cut(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "w.h5"
    result = runner.invoke(
        main, ["prepare", "--corpus", str(WONDERLAND), "--out", str(out), "--show-cleaning"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == WONDERLAND_SUMMARY + (
        f"144,431 characters kept (129,988 train, 14,443 val), vocabulary 71 -> {out}\n"
    )


def _header_only(p: Path) -> str:
    header, _, footer = ERAS["2010s"]
    (p / "h.txt").write_text("\n".join(header + footer) + "\n")
    return str(p / "h.txt")


def _write(p: Path, name: str, data: bytes) -> str:
    (p / name).write_bytes(data)
    return str(p / name)


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda p: str(p / "missing.txt"), [], "corpus not found: {p}/missing.txt"),
        (lambda p: (p / "d").mkdir() or str(p / "d"), [],
         "no text files (.txt, .text, .md, .rst) in directory {p}/d"),
        (lambda p: _write(p, "e.txt", b""), [], "{p}/e.txt is empty"),
        (_header_only, [],
         "{p}/h.txt holds only a Project Gutenberg header and licence, no text"),
        (lambda p: _write(p, "s.txt", b"abc\n" * 100), [],
         "corpus too short for seq_len 100: the val split has 40 characters, needs at least 101"),
        (lambda p: _write(p, "u.txt", b"caf\x81\xe9\n" * 100), [],
         "{p}/u.txt is neither UTF-8 nor Windows-1252; pass --encoding"),
        (lambda p: _write(p, "u.txt", b"caf\xe9\n" * 100), ["--encoding", "utf-8"],
         "{p}/u.txt is not valid utf-8 (byte 3)"),
        (lambda p: _write(p, "b.bin", b"\x7fELF\x02\x01\x00\x00"), [],
         "{p}/b.bin looks binary (NUL byte at 6), not a text file"),
        (lambda p: "gutenberg:999999", [],
         "no ebook 999999 in mirror {m} (looked for {m}/cache/epub/999999/pg999999.txt)"),
        (lambda p: str(WONDERLAND), ["--drop-stopwords", "english"],
         "--drop-stopwords needs --words-only"),
        (lambda p: str(WONDERLAND), ["--keep-chars", "[a-"],
         "--keep-chars '[a-' is not a regex: unterminated character set at position 0"),
        (lambda p: str(WONDERLAND), ["--encoding", "nope"], "unknown encoding 'nope'"),
        (lambda p: str(WONDERLAND), ["--encoding", "rot13"], "'rot13' is not a text encoding"),
        (lambda p: _write(p, "be.txt", "Hello\n".encode("utf-16-be")), ["--encoding", "utf-16"],
         "{p}/be.txt is not valid utf-16: UTF-16 stream does not start with BOM; name the byte "
         "order, e.g. --encoding utf-16-le"),
        (lambda p: "", [], "--corpus is empty: name a file, directory, glob or -"),
        (lambda p: _write(p, "cjk.txt", "\u540d\u524d\n\n".encode()), ["--ascii"],
         "{p}/cjk.txt is empty after cleaning"),
        (lambda p: _write(p, "up.txt", b"ABC\nDEF\n"), ["--keep-chars", "[a-z\n]"],
         "{p}/up.txt is empty after cleaning"),
        (lambda p: str(WONDERLAND), ["--min-char-count", "10000000"],
         "the vocabulary would hold only the unknown symbol: nothing to learn "
         "(--min-char-count 10000000 is too high)"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, make, extra: list[str], message: str
) -> None:
    work = tmp_path / "w"
    work.mkdir()
    spec = make(work)
    before = sorted(work.rglob("*"))
    out = tmp_path / "out.h5"
    data = tmp_path / "data"
    commands = [["prepare", "--out", str(out)], ["clean"]]
    if message.startswith(("corpus too short", "the vocabulary")):
        commands.pop()  # clean encodes nothing, so needs no window and no vocabulary
    for command in commands:
        result = runner.invoke(main, [*command, "--corpus", spec, "--data-dir", str(data), *extra])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == f"Error: {message.format(p=work, m=shipped().mirror)}\n"
        assert not out.exists() and not data.exists()
        assert sorted(work.rglob("*")) == before


def test_a_gutenberg_id_without_network_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` on a machine with no network and no mirror: exit 2, one `Error:` line."""
    import socket
    import urllib.error
    import urllib.request

    def offline(url: str, timeout: float):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.delenv("CHARGEN_CORPUS_MIRROR")
    data = tmp_path / "data"
    for command in (["prepare", "--out", str(tmp_path / "a.h5")], ["train", "--config", "tiny"]):
        result = runner.invoke(
            main, [*command, "--corpus", "gutenberg:11", "--data-dir", str(data)]
        )
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            "Error: cannot download ebook 11 from https://www.gutenberg.org/cache/epub/11/"
            "pg11.txt: [Errno -3] Temporary failure in name resolution; set CHARGEN_CORPUS_MIRROR "
            f"to a folder or URL holding cache/epub/11/pg11.txt, or save the ebook as "
            f"{data}/gutenberg/pg11.txt\n"
        )
    assert not (tmp_path / "a.h5").exists() and not data.exists()


def test_train_rejects_cleaning_flags_with_prepared_data(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "w.h5"
    assert (
        runner.invoke(main, ["prepare", "--corpus", str(WONDERLAND), "--out", str(out)]).exit_code
        == 0
    )
    result = runner.invoke(main, ["train", "--data", str(out), "--ascii", "--min-char-count", "3"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --ascii, --min-char-count: cleaning options apply to --corpus, not --data\n"
    )


def test_prepare_never_overwrites_a_text_file(runner: CliRunner, tmp_path: Path) -> None:
    """`--out` naming the corpus (or any file that is not a prepared one) is refused untouched;
    an earlier prepared file is replaced as before."""
    book = tmp_path / "w.txt"
    book.write_bytes(WONDERLAND.read_bytes())
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    weights = tmp_path / "best.weights.h5"  # HDF5, but a run's weights
    with h5py.File(weights, "w") as h5:
        h5["w"] = [1.0, 2.0]
    kept = weights.read_bytes()
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    link = tmp_path / "link.h5"
    link.symlink_to(notes)
    refused = "exists and is not a prepared file; remove it or choose another"
    for out, message in [
        (book, f"--out {book} is the corpus file {book}; choose another --out"),
        (notes, f"--out {notes} {refused}"),
        (weights, f"--out {weights} {refused}"),
        (fifo, f"--out {fifo} is not a regular file; choose another --out"),
        (link, f"--out {link} is not a regular file; choose another --out"),
    ]:
        result = runner.invoke(main, ["prepare", "--corpus", str(book), "--out", str(out)])
        assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
    assert book.read_bytes() == WONDERLAND.read_bytes()
    assert notes.read_text() == "my notes\n"
    assert weights.read_bytes() == kept and fifo.is_fifo() and link.is_symlink()
    out = tmp_path / "w.h5"
    for _ in range(2):
        result = runner.invoke(main, ["prepare", "--corpus", str(book), "--out", str(out)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seq-len", "0"], "--seq-len must be at least 1, got 0"),
        (["--seq-len", "-5"], "--seq-len must be at least 1, got -5"),
        (["--out", ""], "--out needs a file name, got '.'"),
    ],
)
def test_prepare_rejects_bad_window_and_out(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    data = tmp_path / "data"
    cmd = ["prepare", "--corpus", str(WONDERLAND), "--data-dir", str(data), *args]
    for _ in range(2):  # the second time a cached file exists (for the --seq-len cases)
        result = runner.invoke(main, cmd)
        assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
        runner.invoke(main, ["prepare", "--corpus", str(WONDERLAND), "--data-dir", str(data)])


def test_clean_shows_what_min_char_count_encodes(runner: CliRunner, tmp_path: Path) -> None:
    """`clean` is "exactly what prepare encodes": rare characters become the unknown symbol."""
    from chargen.data.prepared import open_prepared, read_ids

    out = tmp_path / "w.h5"
    args = ["--corpus", str(WONDERLAND), "--min-char-count", "500"]
    assert runner.invoke(main, ["prepare", *args, "--out", str(out)]).exit_code == 0
    prepared = open_prepared(out)
    result = runner.invoke(main, ["clean", *args])
    assert result.exit_code == 0
    assert "\ufffd" in result.stdout
    ids = [read_ids(out, split) for split in ("train", "val")]
    assert result.stdout == "".join(prepared.vocab.decode(i) for i in ids)


def test_explicit_encoding_drops_the_byte_order_mark(runner: CliRunner, tmp_path: Path) -> None:
    for name, data, encoding in [
        ("a.txt", b"\xef\xbb\xbfhello\r\n", "utf-8"),
        ("b.txt", "\ufeffhello\n".encode("utf-16-le"), "utf-16-le"),
    ]:
        path = _write(tmp_path, name, data)
        result = runner.invoke(main, ["clean", "--corpus", path, "--encoding", encoding])
        assert (result.exit_code, result.stdout) == (0, "hello\n")


def test_damaged_nltk_data_is_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "corpora").mkdir()
    (tmp_path / "corpora" / "gutenberg.zip").write_bytes(b"junk")
    env = {**os.environ, "NLTK_DATA": str(tmp_path)}
    cmd = [sys.executable, "-m", "chargen", "clean", "--corpus", "nltk:carroll-alice.txt"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == (
        "Error: NLTK data package 'gutenberg' is damaged (File is not a zip file); "
        "reinstall it with: python -m nltk.downloader gutenberg\n"
    )


def test_a_reader_that_stops_early_ends_clean_quietly() -> None:
    """`chargen clean ... | head`: exit 141 as `yes | head` does, no traceback or message."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "chargen", "clean", "--corpus", str(shipped().shakespeare)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"First Citizen:\n"
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert (proc.wait(timeout=60), err) == (141, b"")


def test_an_unwritable_stdout_is_one_error_line() -> None:
    """stdout on a full disk (/dev/full): the system's refusal as one line, no traceback."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "chargen", "clean", "--corpus", str(WONDERLAND)]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(cmd, env=env, stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert (proc.returncode, proc.stderr) == (1, b"Error: No space left on device\n")


def test_summary_of_a_big_file_whose_edges_hold_no_whole_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the ends of a big file are searched: a blank stretch longer than that at the top
    says so in the summary instead of printing ''."""
    from chargen.text import document

    monkeypatch.setattr(document, "EDGE", 4096)
    book = tmp_path / "big.txt"
    book.write_text("\n" * 6000 + "hi there\n" * 2000 + "the end\n")
    result = runner.invoke(main, ["clean", "--corpus", str(book)])
    assert result.exit_code == 0
    assert "  first kept line: (none within 1 MB of this end of the file)\n" in result.stderr
    assert "  last kept line:  'the end'\n" in result.stderr
    assert result.stdout.startswith("hi there\n")
