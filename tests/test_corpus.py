"""Cleaning: Gutenberg cuts of every era, encodings, normalisation and character options."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargen.errors import ConfigError, CorpusError
from chargen.text import document, gutenberg
from chargen.text.clean import CleanOptions, normalise_seed, to_ascii
from chargen.text.document import Document, bytes_opener, clean_bytes
from tests.conftest import ROOT, shipped
from tests.gutenberg_fixtures import ENCODINGS, ERAS, era_bytes

SRC = ROOT / "src"
WONDERLAND = shipped().wonderland


@pytest.mark.parametrize("era", sorted(ERAS))
def test_each_era_is_cut_at_the_book(era: str) -> None:
    header, body, footer = ERAS[era]
    cleaned = clean_bytes(era_bytes(era), CleanOptions(), source=era)
    assert cleaned.text == "\n".join(body) + "\n"
    r = cleaned.report
    assert (r.removed_top, r.removed_bottom) == (len(header), len(footer))
    assert r.first_line == body[0].strip()
    assert r.last_line == body[-1].strip()
    assert "Gutenberg" not in cleaned.text and "\ufffd" not in cleaned.text


def test_markers_and_notices_are_reported() -> None:
    r = clean_bytes(era_bytes("1990s"), CleanOptions(), source="a").report
    assert r.start_marker == "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*"
    assert r.end_marker == "End of The Project Gutenberg Etext of Alice in Wonderland"
    assert r.notices == ()
    r = clean_bytes(era_bytes("start-only"), CleanOptions(), source="s").report
    assert r.end_marker is None
    assert r.notices == ("s: start marker but no end marker; kept the bottom",)
    r = clean_bytes(era_bytes("end-only"), CleanOptions(), source="e").report
    assert r.start_marker is None
    assert r.notices == ("e: end marker but no start marker; kept the top",)


def test_wonderland_cut_and_counts() -> None:
    cleaned = clean_bytes(WONDERLAND.read_bytes(), CleanOptions(), source="w")
    r = cleaned.report
    assert (r.removed_top, r.removed_bottom) == (31, 366)
    assert (r.first_line, r.last_line) == ("ALICE'S ADVENTURES IN WONDERLAND", "THE END")
    assert r.start_marker.startswith("*** START OF THIS PROJECT GUTENBERG EBOOK ALICE")
    assert r.end_marker.startswith("End of Project Gutenberg's Alice")
    assert cleaned.text.startswith("ALICE'S ADVENTURES IN WONDERLAND\n\nLewis Carroll\n")
    assert cleaned.text.endswith("summer days.\n\n              THE END\n")
    assert "\r" not in cleaned.text and r.chars == len(cleaned.text) == 144431


def test_no_markers_keeps_everything_with_a_notice() -> None:
    data = b"\n\nJust a poem.\r\nSecond line\rThird line\n\n"
    cleaned = clean_bytes(data, CleanOptions(), source="poem.txt")
    assert cleaned.text == "Just a poem.\nSecond line\nThird line\n"
    assert cleaned.report.notices == ("poem.txt: no Project Gutenberg markers; kept whole",)
    assert cleaned.report.removed_top == 2


def test_no_strip_keeps_header_and_licence() -> None:
    header, body, footer = ERAS["2010s"]
    cleaned = clean_bytes(era_bytes("2010s"), CleanOptions(strip=False), source="t")
    assert cleaned.text.startswith(header[0] + "\n")
    assert cleaned.text.endswith(footer[-1] + "\n")
    assert cleaned.report.notices == ()


def test_header_and_licence_only_is_an_error() -> None:
    header, _, footer = ERAS["2000s"]
    data = "\r\n".join(header + footer).encode("latin-1")
    with pytest.raises(CorpusError, match=r"^x holds only a Project Gutenberg header and licence"):
        clean_bytes(data, CleanOptions(), source="x")


def test_latin1_is_detected_and_utf8_bom_dropped() -> None:
    fr = clean_bytes(era_bytes("2000s"), CleanOptions(), source="fr")
    assert fr.report.encoding == "cp1252"
    assert "En l'ann\u00e9e 1872" in fr.text and "\u00ab Fin \u00bb" in fr.text
    de = clean_bytes(era_bytes("2020s-nospace"), CleanOptions(strip=False), source="de")
    assert de.report.encoding == "utf-8"
    assert de.text.startswith("The Project Gutenberg eBook of Die Verwandlung")


def test_explicit_encoding_and_undecodable_bytes() -> None:
    data = "caf\u00e9 \u2014 na\u00efve\n".encode("cp1252")
    assert clean_bytes(data, CleanOptions(encoding="cp1252"), source="f").text == (
        "caf\u00e9 \u2014 na\u00efve\n"
    )
    assert clean_bytes(data, CleanOptions(), source="f").report.encoding == "cp1252"
    with pytest.raises(
        CorpusError, match=r"^f is neither UTF-8 nor Windows-1252; pass --encoding$"
    ):
        clean_bytes(b"abc \x81\xff def\n", CleanOptions(), source="f")
    with pytest.raises(CorpusError, match=r"^f is not valid utf-8 \(byte 4\)$"):
        clean_bytes(b"abc \xff def\n", CleanOptions(encoding="utf-8"), source="f")


def test_utf8_holding_replacement_characters_stays_utf8() -> None:
    """Valid UTF-8 whose text holds U+FFFD (damage done before the file was saved) and only a
    few accents: decoded as UTF-8 without mojibake, and the summary counts the U+FFFD."""
    text = "Chapter 1\n" + "plain prose line\n" * 50 + "a \ufffd here, \ufffd\ufffd there\n"
    text += "the caf\u00e9 on the corner\n"
    cleaned = clean_bytes(text.encode(), CleanOptions(strip=False), source="f")
    assert cleaned.report.encoding == "utf-8"
    assert cleaned.text == text
    assert "\u00c3" not in cleaned.text and "\u00ef\u00bf\u00bd" not in cleaned.text
    assert cleaned.report.notices == (
        "f: holds 3 U+FFFD replacement character(s), damage done before the file was saved;"
        " kept as they are",
    )


def test_replacement_characters_are_counted_apart_from_decode_errors() -> None:
    """A damaged byte and a literal U+FFFD: one is a decode error, the other is text."""
    good = "d\u00e9j\u00e0 vu \u00e0 No\u00ebl, na\u00efve fa\u00e7ade\n".encode() * 10
    data = good + "one \ufffd\n".encode() + b"bad \xff byte\n"
    cleaned = clean_bytes(data, CleanOptions(strip=False), source="f")
    assert cleaned.report.encoding == "utf-8"
    assert cleaned.text.count("\ufffd") == 2
    assert cleaned.report.notices == (
        "f: 1 invalid UTF-8 byte sequence(s) replaced by U+FFFD",
        "f: holds 1 U+FFFD replacement character(s), damage done before the file was saved;"
        " kept as they are",
    )


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "\u201cCaf\u00e9,\u201d she said \u2014 na\u00efve\n"),
        ("latin-1", "En l'ann\u00e9e 1872, ma\u00eetre \u00ab Fin \u00bb\n"),
    ],
)
def test_eight_bit_files_are_windows_1252(encoding: str, text: str) -> None:
    """Real cp1252 or Latin-1 bytes are invalid UTF-8 at every accent: Windows-1252, which
    decodes Latin-1 text the same."""
    cleaned = clean_bytes((text * 5).encode(encoding), CleanOptions(strip=False), source="f")
    assert cleaned.report.encoding == "cp1252"
    assert cleaned.text == text * 5
    assert cleaned.report.notices == ()


def test_named_utf8_counts_replacement_characters() -> None:
    data = "a \ufffd b\n".encode()
    cleaned = clean_bytes(data, CleanOptions(strip=False, encoding="utf-8"), source="f")
    assert cleaned.text == "a \ufffd b\n"
    assert cleaned.report.notices[0].startswith("f: holds 1 U+FFFD replacement character(s)")


WIDE = {
    "utf-16 le": codecs.BOM_UTF16_LE,
    "utf-16 be": codecs.BOM_UTF16_BE,
    "utf-32 le": codecs.BOM_UTF32_LE,
    "utf-32 be": codecs.BOM_UTF32_BE,
}


def _wide(text: str, kind: str) -> bytes:
    """`text` as a Windows "Unicode" file: byte-order mark, then fixed-order code units."""
    family, order = kind.split()
    return WIDE[kind] + text.encode(f"{family}-{order}")


@pytest.mark.parametrize("kind", sorted(WIDE))
def test_utf16_and_utf32_are_known_by_their_byte_order_mark(kind: str) -> None:
    """The German 2020s book, its BOM and CRLF kept, cleans to what its UTF-8 bytes give."""
    utf8 = clean_bytes(era_bytes("2020s-nospace"), CleanOptions(), source="u")
    text = era_bytes("2020s-nospace").decode("utf-8-sig")
    wide = clean_bytes(_wide(text, kind), CleanOptions(), source="w")
    assert wide.text == utf8.text and "Tr\u00e4umen" in wide.text
    assert wide.report.encoding == kind.split()[0]
    assert (wide.report.removed_top, wide.report.removed_bottom) == (
        utf8.report.removed_top,
        utf8.report.removed_bottom,
    )


@pytest.mark.parametrize("kind", ["utf-16 be", "utf-32 le"])
def test_wide_files_stream_in_small_blocks(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tail is read from the middle of the file: aligned to the code unit, in the order
    the mark gave (EDGE 4095 puts the seek off the unit; astral characters span two units)."""
    header, body, footer = ERAS["2010s"]
    body = [line + " \U0001d11e" for line in body] * 300
    text = "\r\n".join(header + body + footer) + "\r\n"
    data = _wide(text, kind)
    monkeypatch.setattr(document, "EDGE", 4095)
    monkeypatch.setattr(document, "BLOCK", 777)
    streamed = Document("s", bytes_opener(data), CleanOptions())
    assert "".join(streamed.chunks()) == "\n".join(body) + "\n"
    assert (streamed.report.removed_top, streamed.report.removed_bottom) == (
        len(header),
        len(footer),
    )


def test_wide_text_errors_and_explicit_order() -> None:
    plain = "Plain text in UTF-16.\n" * 20
    with pytest.raises(
        CorpusError,
        match=r"^n looks binary \(NUL byte at 1\), not a text file "
        r"\(UTF-16 without a byte-order mark\? pass --encoding utf-16-le\)$",
    ):
        clean_bytes(plain.encode("utf-16-le"), CleanOptions(), source="n")
    with pytest.raises(CorpusError, match=r"pass --encoding utf-16-be\)$"):
        clean_bytes(plain.encode("utf-16-be"), CleanOptions(), source="n")
    explicit = CleanOptions(encoding="utf-16-le")
    assert clean_bytes(plain.encode("utf-16-le"), explicit, source="x").text == plain
    with pytest.raises(CorpusError, match=r"^z looks binary \(NUL character at 3\)"):
        clean_bytes(_wide("abc\x00def\n", "utf-16 le"), CleanOptions(), source="z")
    with pytest.raises(CorpusError, match=r"^o is not valid utf-16 \(it ends mid-character\)$"):
        clean_bytes(_wide("abc\n", "utf-16 le") + b"x", CleanOptions(), source="o")
    with pytest.raises(CorpusError, match=r"^w is empty$"):
        clean_bytes(_wide(" \r\n\n ", "utf-16 be"), CleanOptions(), source="w")


def test_binary_and_empty_are_rejected() -> None:
    with pytest.raises(CorpusError, match=r"^b looks binary \(NUL byte at 3\), not a text file$"):
        clean_bytes(b"GIF\x00\x01\x02", CleanOptions(), source="b")
    with pytest.raises(CorpusError, match=r"^e is empty$"):
        clean_bytes(b" \r\n\n ", CleanOptions(), source="e")


def test_nfc_lowercase_ascii_and_keep_chars() -> None:
    text = "Cafe\u0301 \u201cNa\u00efve\u201d \u2014 Stra\u00dfe\u2026\n".encode()
    assert clean_bytes(text, CleanOptions(), source="t").text == (
        "Caf\u00e9 \u201cNa\u00efve\u201d \u2014 Stra\u00dfe\u2026\n"
    )
    assert clean_bytes(text, CleanOptions(ascii=True, lowercase=True), source="t").text == (
        'cafe "naive" -- strasse...\n'
    )
    opts = CleanOptions(lowercase=True, keep_chars=r"[a-z\n ]")
    assert clean_bytes(text, opts, source="t").text == "caf nave  strae\n"
    one_line = CleanOptions(keep_chars="[a-z ]")
    assert clean_bytes(b"ab\ncd\n", one_line, source="t").text == "abcd"
    assert to_ascii("\u00c6sop \u2018hi\u2019 \u4e2d") == "AEsop 'hi' "


def test_words_only_and_stopwords() -> None:
    data = b"The Queen of Hearts,\nshe made some tarts!\n"
    words = CleanOptions(words_only=True)
    assert clean_bytes(data, words, source="t").text == "The Queen of Hearts she made some tarts\n"
    drop = CleanOptions(words_only=True, drop_stopwords="english", lowercase=True)
    assert clean_bytes(data, drop, source="t").text == "queen hearts made tarts\n"


def test_missing_nltk_data_names_the_package(tmp_path: Path) -> None:
    """A fresh process with an empty NLTK_DATA: one error line, nothing downloaded."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    env = {**os.environ, "NLTK_DATA": str(tmp_path / "none"), "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "chargen", "clean", "--corpus", str(corpus)]
    proc = subprocess.run(
        [*cmd, "--words-only", "--drop-stopwords", "english"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "Error: NLTK data package 'stopwords' not found on the NLTK search path (NLTK_DATA); "
        "install it with: python -m nltk.downloader stopwords\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drop_stopwords": "english"}, "--drop-stopwords needs --words-only"),
        ({"min_char_count": 0}, "--min-char-count must be at least 1, got 0"),
        ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
    ],
)
def test_conflicting_or_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        CleanOptions(**kwargs)
    assert str(err.value) == message


def test_seed_gets_the_corpus_normalisation() -> None:
    opts = CleanOptions(lowercase=True, ascii=True)
    assert normalise_seed("Cafe\u0301 \u201cHi\u201d\r\n", opts) == 'cafe "hi"\n'
    assert normalise_seed("The Cat sat ", CleanOptions(words_only=True)) == "The Cat sat "
    assert CleanOptions.from_dict(opts.to_dict() | {"future_key": 1}) == opts


@pytest.mark.parametrize("era", ["2000s", "2020s-nospace", "1990s"])
def test_streaming_in_small_blocks_matches_whole_file(
    era: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Head/tail marker search and block-wise decoding give the in-memory result exactly."""
    header, body, footer = ERAS[era]
    big = (header, body * 200, footer)
    monkeypatch.setitem(ERAS, era, big)
    data = era_bytes(era)
    whole = Document("w", bytes_opener(data), CleanOptions())
    expected = "".join(whole.chunks())
    monkeypatch.setattr(document, "EDGE", 4096)
    monkeypatch.setattr(document, "BLOCK", 777)
    streamed = Document("s", bytes_opener(data), CleanOptions())
    chunks = list(streamed.chunks())
    assert len(chunks) > 10
    assert "".join(chunks) == expected == "\n".join(body * 200) + "\n"
    assert (streamed.report.removed_top, streamed.report.removed_bottom) == (
        len(header),
        len(footer),
    )


def test_wrapped_start_marker_and_small_print_before_start() -> None:
    data = (
        b"The Project Gutenberg EBook of A Very Long Title, by Someone\n\n"
        b"*END THE SMALL PRINT! FOR PUBLIC DOMAIN EBOOKS*Ver.02/11/02*END*\n\n"
        b"*** START OF THE PROJECT GUTENBERG EBOOK A VERY LONG TITLE THAT WRAPS\n"
        b"ONTO A SECOND LINE ***\n\n\n"
        b"Book text.\n\n"
        b"*** END OF THE PROJECT GUTENBERG EBOOK A VERY LONG TITLE THAT WRAPS\n"
        b"ONTO A SECOND LINE ***\n"
    )
    cleaned = clean_bytes(data, CleanOptions(), source="w")
    assert cleaned.text == "Book text.\n"
    assert cleaned.report.start_marker == (
        "*** START OF THE PROJECT GUTENBERG EBOOK A VERY LONG TITLE THAT WRAPS"
        " ONTO A SECOND LINE ***"
    )
    assert (cleaned.report.removed_top, cleaned.report.removed_bottom) == (8, 3)


def test_utf8_with_a_damaged_byte_stays_utf8_with_a_notice(tmp_path) -> None:
    from chargen.text.clean import CleanOptions
    from chargen.text.sources import load_corpus

    path = tmp_path / "damaged.txt"
    good = "Ça m'étonne, déjà vu à Noël, naïve façade.\n".encode() * 20
    path.write_bytes(good[:100] + b"\xff" + good[100:])
    corpus = load_corpus([str(path)], CleanOptions(), data_dir=tmp_path)
    text = "".join(corpus.chunks())
    assert "déjà vu à Noël" in text and "Ã" not in text
    assert text.count("\ufffd") == 1
    report = corpus.reports[0]
    assert report.encoding == "utf-8"
    assert f"{path}: 1 invalid UTF-8 byte sequence(s) replaced by U+FFFD" in report.notices


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("long first line", "x" * 9000 + "\n" + "a line\n" * 2000),
        ("long last line", "a line\n" * 2000 + "y" * 9000 + "\n"),
        ("blank head", "\n" * 6000 + "hello world\n" * 2000),
        ("blank tail", "hello world\n" * 2000 + "\n" * 6000),
        ("blank both, CRLF", "\r\n" * 6000 + "hi there\r\n" * 2000 + " \r\n" * 6000),
    ],
)
def test_big_files_with_no_whole_line_in_head_or_tail(
    name: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head or tail with no kept line (a line longer than it, or only blank lines) cleans
    like the whole file does: no leading or trailing blank lines, nothing else lost."""
    data = text.encode()
    expected = "\n".join(line for line in text.replace("\r", "").split("\n") if line.strip())
    monkeypatch.setattr(document, "EDGE", 4096)
    monkeypatch.setattr(document, "BLOCK", 777)
    streamed = Document(name, bytes_opener(data), CleanOptions())
    assert "".join(streamed.chunks()) == expected + "\n"
    assert streamed.report.chars == len(expected) + 1


def test_a_long_run_of_blank_lines_is_spooled_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank lines between text wait in a spooled file, so a run longer than HELD_IN_MEMORY
    (here 100 characters) goes to disk and comes back whole: inner runs kept, the tail's not.
    Lines --ascii empties count as blank too."""
    monkeypatch.setattr(document, "BLOCK", 64)
    monkeypatch.setattr(document, "HELD_IN_MEMORY", 100)
    text = "first\n" + "\n" * 3000 + "\u540d\n" * 500 + "  \n" * 400 + "second\n" + "\n" * 900
    streamed = Document("t", bytes_opener(text.encode()), CleanOptions(ascii=True))
    expected = "first\n" + "\n" * 3000 + "\n" * 500 + "  \n" * 400 + "second\n"
    assert "".join(streamed.chunks()) == expected
    assert streamed.report.chars == len(expected)


def test_lines_emptied_by_cleaning_are_not_kept_at_the_edges() -> None:
    text = "\u540d\u524d\nCaf\u00e9 au lait\n\u540d\n\ntea\n\u540d\u524d\n"
    cleaned = clean_bytes(text.encode(), CleanOptions(ascii=True), source="t")
    assert cleaned.text == "Cafe au lait\n\n\ntea\n"
    assert to_ascii("\u00bd cup, \u00be pint") == "1/2 cup, 3/4 pint"


def test_older_german_footer_is_an_end_marker() -> None:
    from chargen.text.gutenberg import find_end

    lines = ["Text.", "", "Ende dieses Projekt Gutenberg Etextes \u00bbDie Leiden\u00ab", "x"]
    assert find_end(lines, 0) == (2, lines[2])


SMALL_PRINT_AFTER_END = [  # 2002 style: no start marker; the small print follows the end
    "",
    "End of Project Gutenberg's The Ball and The Cross, by G.K. Chesterton",
    "",
    "*END THE SMALL PRINT! FOR PUBLIC DOMAIN EBOOKS*Ver.02/11/02*END*",
]


def test_small_print_after_the_end_is_not_a_start() -> None:
    """NLTK's chesterton-ball.txt: the licence's closing line matches a 1990s start marker,
    which made the whole book "only a header and licence"."""
    body = ["[The Ball and The Cross by G.K. Chesterton 1909]", "", "The flying ship sang."]
    text = "\r\n".join(body + SMALL_PRINT_AFTER_END) + "\r\n"
    cleaned = clean_bytes(text.encode(), CleanOptions(), source="ball")
    assert cleaned.text == "\n".join(body) + "\n"
    assert cleaned.report.end_marker == SMALL_PRINT_AFTER_END[1]


@pytest.mark.parametrize("big", [False, True])
def test_several_ebooks_in_one_file_are_refused(big: bool, monkeypatch) -> None:
    """Cutting at the first book's end dropped the others (small files); cutting at the last
    end kept licences and headers as text (big files). Either way it has to be split."""
    header, body, footer = ERAS["2010s"]
    book = "\n".join(header + body * (200 if big else 1) + footer) + "\n"
    if big:
        monkeypatch.setattr(document, "EDGE", 4096)
    for data in ((book * 2).encode(), (book * 3).encode()):
        with pytest.raises(CorpusError) as err:
            Document("two", bytes_opener(data), CleanOptions())
            "".join(Document("two", bytes_opener(data), CleanOptions()).chunks())
        assert str(err.value).startswith("two holds more than one Project Gutenberg ebook ('*** ")
        assert str(err.value).endswith(
            "PROJECT GUTENBERG EBOOK, THE TIME MACHINE ***' is inside it); give each book as its "
            "own file (a directory of them works as --corpus), or keep everything with --no-strip"
        )
    assert len(book) > 2 * 4096 if big else len(book) * 3 < 2 * document.EDGE
    kept = clean_bytes((book * 2).encode(), CleanOptions(strip=False), source="two")
    assert kept.text == book * 2


def test_marker_wordings_and_dos_end_of_file() -> None:
    body = ["Hello.", "Goodbye."]
    for start, end in [
        ("*** START OF PROJECT GUTENBERG EBOOK HELLO ***", "*** END OF PROJECT GUTENBERG EBOOK"),
        (
            "*** START OF THE PROJECT GUTENBERG EBOOK HELLO",
            "The End of the Project Gutenberg Etext",
        ),
    ]:
        text = "\n".join(["Header.", start, "", *body, "", end, "Licence."]) + "\n\x1a\x1a"
        cleaned = clean_bytes(text.encode(), CleanOptions(), source="s")
        assert (cleaned.text, cleaned.report.start_marker) == ("Hello.\nGoodbye.\n", start)
    text = "The text.\nThe End\x1a\x1a\n\x1a"
    cleaned = clean_bytes(text.encode(), CleanOptions(), source="s")
    assert cleaned.text == "The text.\nThe End\n"
    assert cleaned.report.last_line == "The End"


def test_two_1990s_ebooks_in_one_file_are_refused() -> None:
    """Small print start, book, end marker, twice: the second book was dropped as footer."""
    header, body, footer = ERAS["1990s"]
    book = "\n".join(header + body + ["", "End of The Project Gutenberg Etext of Alice"]) + "\n"
    with pytest.raises(CorpusError, match=r"holds more than one Project Gutenberg ebook"):
        clean_bytes((book * 2).encode(), CleanOptions(), source="two")
    assert clean_bytes(book.encode(), CleanOptions(), source="one").text == "\n".join(body) + "\n"


def _filler(chars: int, word: str) -> list[str]:
    """Lines of plain prose-like text, about `chars` characters of them."""
    line = f"{word} line of text that is neither header nor book, number "
    return [f"{line}{i}" for i in range(chars // len(line) + 1)]


@pytest.mark.parametrize("era", ["1990s", "2000s", "2010s", "2020s-nospace"])
def test_markers_more_than_an_edge_from_the_ends_are_found(era: str) -> None:
    """A start marker over 1 MiB into the file and an end marker over 1 MiB before its end
    are found in one streaming pass, and the cut is the one a small file gets."""
    header, body, footer = ERAS[era]
    before, after = _filler(document.EDGE + 5000, "Before"), _filler(document.EDGE + 7000, "After")
    lines = before + header + body + footer + after
    data = ("\r\n".join(lines) + "\r\n").encode(ENCODINGS.get(era, "utf-8"))
    start_at = data.index(header[0].lstrip("\ufeff").encode())
    assert start_at > document.EDGE and len(data) - data.index(footer[-1].encode()) > document.EDGE
    cleaned = clean_bytes(data, CleanOptions(), source=era)
    assert cleaned.text == "\n".join(body) + "\n"
    r = cleaned.report
    small = clean_bytes(era_bytes(era), CleanOptions(), source=era).report
    assert (r.start_marker, r.end_marker) == (small.start_marker, small.end_marker)
    assert (r.removed_top, r.removed_bottom) == (
        len(before) + len(header),
        len(footer) + len(after),
    )
    assert (r.first_line, r.last_line) == (body[0].strip(), body[-1].strip())
    assert r.notices == ()


@pytest.mark.parametrize("where", ["start", "end", "both"])
def test_far_markers_stream_in_small_blocks(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The far-marker pass with small edges and blocks: marker lines split across blocks, one
    marker near its end of the file and the other far from it."""
    header, body, footer = ERAS["2010s"]
    pad = _filler(3 * 4096, "Pad")
    before = pad if where in ("start", "both") else []
    after = pad if where in ("end", "both") else []
    body = body * 100
    data = ("\n".join(before + header + body + footer + after) + "\n").encode()
    monkeypatch.setattr(document, "EDGE", 4096)
    monkeypatch.setattr(document, "BLOCK", 777)
    doc = Document("s", bytes_opener(data), CleanOptions())
    assert "".join(doc.chunks()) == "\n".join(body) + "\n"
    assert (doc.report.removed_top, doc.report.removed_bottom) == (
        len(before) + len(header),
        len(footer) + len(after),
    )
    assert doc.report.last_line == body[-1]


def test_a_second_book_far_after_the_end_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The footer beyond a far end marker is checked for another ebook, as a near one is."""
    header, body, footer = ERAS["2010s"]
    book = header + body + footer
    pad = _filler(3 * 4096, "Pad")
    data = ("\n".join(book + pad + book + pad) + "\n").encode()
    monkeypatch.setattr(document, "EDGE", 4096)
    with pytest.raises(CorpusError, match=r"^s holds more than one Project Gutenberg ebook"):
        Document("s", bytes_opener(data), CleanOptions())


def test_locate_keeps_context_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargen.text.gutenberg import locate

    text = "a\n" * 10 + "*** START OF THE PROJECT GUTENBERG EBOOK X ***\nbook\n"
    text += "*** END OF THE PROJECT GUTENBERG EBOOK X ***\n" + "z\n" * 5
    found = locate([text[i : i + 7] for i in range(0, len(text), 7)], 12)
    assert (found.chars, found.lines) == (len(text), 18)
    assert [line for line, _ in found.markers] == [10, 12]
    assert found.head is not None and found.head.line == 10 and found.head.offset == 20
    assert found.head.text.startswith("*** START OF THE PROJECT GUTENBERG EBOOK X ***\n")
    assert found.tail is not None and found.tail.line == 11
    assert found.tail.text == "book\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n"
    assert text[found.tail.offset :].startswith(found.tail.text)


def test_a_file_that_never_names_gutenberg_gets_no_full_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A big marker-less corpus costs no extra pass: its bytes never name Project Gutenberg."""
    calls: list[int] = []
    real = gutenberg.locate
    monkeypatch.setattr(gutenberg, "locate", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(document, "EDGE", 4096)
    plain = "\n".join(_filler(5 * 4096, "Plain")) + "\n"
    doc = Document("p", bytes_opener(plain.encode()), CleanOptions())
    assert (doc.removed_top, doc.removed_bottom, calls) == (0, 0, [])
    named = plain + "A line that names Project GUTENBERG in passing.\n" + plain
    doc = Document("n", bytes_opener(named.encode()), CleanOptions())
    assert (doc.removed_top, doc.removed_bottom, calls) == (0, 0, [1])
    assert doc.notices == ("n: no Project Gutenberg markers; kept whole",)


def test_locate_reads_a_last_line_without_a_line_break() -> None:
    from chargen.text.gutenberg import locate

    text = "a\n" * 5 + "*** END OF THE PROJECT GUTENBERG EBOOK X ***"
    found = locate([text[:7], text[7:]], 4)
    assert (found.chars, found.lines, found.markers) == (len(text), 6, [(5, text[10:])])
    assert found.tail is not None and found.tail.text == "a\n" + text[10:]
    assert (found.tail.offset, found.tail.line) == (8, 4)
    assert locate(["x" * 100], 4).lines == 1 and locate([], 4).lines == 0


def test_a_long_footer_after_a_far_end_marker_is_not_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory stays flat however much follows the end marker: the marker search counted the
    whole text, so the reader stops at the cut instead of holding the footer back."""
    import tracemalloc

    header, body, footer = ERAS["2010s"]
    after = "\n".join(_filler(6 << 20, "After")) + "\n"
    data = ("\n".join(header + body + footer) + "\n" + after).encode()
    monkeypatch.setattr(document, "EDGE", 4096)
    monkeypatch.setattr(document, "BLOCK", 1 << 16)
    tracemalloc.start()
    try:
        doc = Document("s", bytes_opener(data), CleanOptions())
        text = "".join(doc.chunks())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text == "\n".join(body) + "\n"
    assert doc.total_chars == len(data)
    assert peak < 1 << 20


@given(st.text(st.sampled_from("gutenbrGUTENBR \u212a\u0130\u00e9\u1e9e\ud800"), max_size=30))
def test_the_gutenberg_prescan_finds_what_lowering_finds(text: str) -> None:
    for candidate in (text, text + "GutenBerg", "\u00e9" + text.replace(" ", "gutenberg")):
        assert gutenberg.names_gutenberg(candidate) == ("gutenberg" in candidate.lower())


def test_an_iso_8859_2_gutenberg_file_is_read_in_the_set_its_header_names() -> None:
    """Central European -8 files of the 2000s are ISO-8859-2, which Windows-1252 turns into
    mojibake: the header's "Character set encoding" line settles what the bytes cannot."""
    book = "BABIČKA\n\nŽluťoučký kůň úpěl ďábelské ódy. Řeka šumí.\n"
    data = (
        "The Project Gutenberg EBook of Babička, by Božena Němcová\n\n"
        "Language: Czech\n\nCharacter set encoding: ISO-8859-2\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK BABIČKA ***\n\n\n\n"
        f"{book}\n*** END OF THIS PROJECT GUTENBERG EBOOK BABIČKA ***\n"
    ).encode("iso-8859-2")
    cleaned = clean_bytes(data, CleanOptions(), source="f")
    assert cleaned.report.encoding == "iso8859-2"
    assert cleaned.text == book
