"""Production and credit notes between a Project Gutenberg start marker and the book.

Each case is the text after the start marker of a 2003-2012 ebook, copied from the file named
(GITenberg's per-book repositories of Project Gutenberg's files) or, where marked, written in
the wording those years' files use; the first kept line is read off the file by hand."""

from __future__ import annotations

import pytest

from chargen.text.clean import CleanOptions
from chargen.text.cut import drop_spans
from chargen.text.document import clean_bytes
from chargen.text.notes import NOTES, is_note, skip_notes

START = "*** START OF THIS PROJECT GUTENBERG EBOOK A BOOK ***"
END = "*** END OF THIS PROJECT GUTENBERG EBOOK A BOOK ***"

# (after the start marker, first kept line as the file has it, first line of each note removed)
CASES: dict[str, tuple[list[str], str, list[str]]] = {
    # 14881-8.txt, The Log School-House on the Columbia (2005): credit, then the HTML note
    "html version": (
        [
            "",
            "",
            "E-text prepared by Emmy and Ben Beasley, Audrey Longhurst, and the Project",
            "Gutenberg Online Distributed Proofreading Team",
            "",
            "",
            "",
            "Note: Project Gutenberg also has an HTML version of this",
            "      file which includes the original illustrations.",
            "      See 14881-h.htm or 14881-h.zip:",
            "      (http://www.gutenberg.net/dirs/1/4/8/8/14881/14881-h/14881-h.htm)",
            "      or",
            "      (http://www.gutenberg.net/dirs/1/4/8/8/14881/14881-h.zip)",
            "",
            "",
            "",
            "",
            "",
            "THE LOG SCHOOL-HOUSE ON THE COLUMBIA",
            "",
            "A Tale of the Pioneers of the Great Northwest",
        ],
        "THE LOG SCHOOL-HOUSE ON THE COLUMBIA",
        [
            "E-text prepared by Emmy and Ben Beasley, Audrey Longhurst, and the Project",
            "Note: Project Gutenberg also has an HTML version of this",
        ],
    ),
    # 14263-8.txt, Katrine (2004): a two-line credit, then an illustration the book keeps
    "produced by": (
        [
            "",
            "",
            "",
            "",
            "Produced by Rick Niles, Melissa Er-Raqabi, Ronald Holder and the",
            "Online Distributed Proofreading Team at http://www.pgdp.net",
            "",
            "",
            "",
            '[Illustration: "I HAVE WAITED ALL THESE YEARS"]',
            "",
            "KATRINE",
        ],
        '[Illustration: "I HAVE WAITED ALL THESE YEARS"]',
        ["Produced by Rick Niles, Melissa Er-Raqabi, Ronald Holder and the"],
    ),
    # 22089-8.txt, The Liberty Minstrel (2007): a five-line credit with the image source
    "long credit": (
        [
            "",
            "Produced by Carlo Traverso, collective PM for music, Linda",
            "Cantoni, and the Online Distributed Proofreading Team at",
            "http://www.pgdp.net. (This file was produced from images",
            "generously made available by the Library of Congress.)",
            "Music transcribed by Linda Cantoni and the PGDP Music Team.",
            "",
            "",
            "THE",
            "",
            "LIBERTY MINSTREL.",
        ],
        "THE",
        ["Produced by Carlo Traverso, collective PM for music, Linda"],
    ),
    # 24675-8.txt, Ontboezemingen (2008, Dutch): the credit is in English
    "dutch": (
        [
            "",
            "Produced by Branko Collin and the Online Distributed",
            "Proofreading Team at http://www.pgdp.net",
            "",
            "",
            "ELK DEEL IS AFZONDERLIJK VERKRIJGBAAR",
        ],
        "ELK DEEL IS AFZONDERLIJK VERKRIJGBAAR",
        ["Produced by Branko Collin and the Online Distributed"],
    ),
    # the wording of 2008-2012 files made from Internet Archive scans
    "page images": (
        [
            "",
            "E-text prepared by Juliet Sutherland, Linda Cantoni, and the Project",
            "Gutenberg Online Distributed Proofreading Team (http://www.pgdp.net)",
            "from page images generously made available by Internet Archive",
            "(http://www.archive.org)",
            "",
            "",
            "",
            "Note: Images of the original pages are available through",
            "      Internet Archive. See",
            "      http://www.archive.org/details/abook00auth",
            "",
            "",
            "A BOOK",
        ],
        "A BOOK",
        [
            "E-text prepared by Juliet Sutherland, Linda Cantoni, and the Project",
            "Note: Images of the original pages are available through",
        ],
    ),
    # the 1990s-2000s single-volunteer wording (Sue Asscher's Plato, David Price's editions)
    "this etext was prepared": (
        [
            "",
            "This etext was prepared by Sue Asscher",
            "",
            "",
            "ALCIBIADES I",
            "",
            "by Plato",
        ],
        "ALCIBIADES I",
        ["This etext was prepared by Sue Asscher"],
    ),
    "transcribed from": (
        [
            "",
            "Transcribed from the 1897 Blackie & Son edition by David Price, email",
            "ccx074@pglaf.org",
            "",
            "",
            "",
            "A BOOK",
        ],
        "A BOOK",
        ["Transcribed from the 1897 Blackie & Son edition by David Price, email"],
    ),
    "ebook produced": (
        ["", "This eBook was produced by Les Bowler.", "", "", "A BOOK"],
        "A BOOK",
        ["This eBook was produced by Les Bowler."],
    ),
    # written in the wording of those years' files
    "scanned images": (
        [
            "",
            "This book was produced from scanned images of public domain",
            "material from the Google Print project.",
            "",
            "Electronic version prepared by A. Reader.",
            "",
            "A BOOK",
        ],
        "A BOOK",
        [
            "This book was produced from scanned images of public domain",
            "Electronic version prepared by A. Reader.",
        ],
    ),
    # 972's 1990s file (old/dvldc10.txt)
    "wiretap edition": (
        ["", "The Internet Wiretap 1st Online Edition of", "", "", "THE DEVIL'S DICTIONARY"],
        "THE DEVIL'S DICTIONARY",
        ["The Internet Wiretap 1st Online Edition of"],
    ),
    "book prepared for": (
        ["", "This book was prepared for the use of schools.", "", "A BOOK"],
        "This book was prepared for the use of schools.",
        [],
    ),
    "html by": (
        [
            "",
            "Text file produced by Charles Aldarondo, Tricia Gardella",
            "and the Online Distributed Proofreading Team",
            "",
            "HTML file produced by David Widger",
            "",
            "A BOOK",
        ],
        "A BOOK",
        [
            "Text file produced by Charles Aldarondo, Tricia Gardella",
            "HTML file produced by David Widger",
        ],
    ),
    # a transcriber's note that only says where the text came from is a production note
    "source note": (
        [
            "",
            "Produced by Greg Weeks, Mary Meehan and the Online",
            "Distributed Proofreading Team at http://www.pgdp.net",
            "",
            "[Transcriber's Note: This etext was produced from Planet Stories",
            "Summer 1944. Extensive research did not uncover any evidence that",
            "the U.S. copyright on this publication was renewed.]",
            "",
            "THE MORGUE SHIP",
        ],
        "THE MORGUE SHIP",
        [
            "Produced by Greg Weeks, Mary Meehan and the Online",
            "[Transcriber's Note: This etext was produced from Planet Stories",
        ],
    ),
    # the same under a heading of its own: heading and note go, shown together
    "source note under a heading": (
        [
            "",
            "Transcriber's Note:",
            "",
            "  This e-text was prepared from the 1911 reprint.",
            "",
            "A BOOK",
        ],
        "A BOOK",
        ["Transcriber's Note: This e-text was prepared from the 1911 reprint."],
    ),
    # one that speaks of the book's own text stays, heading and all
    "corrections kept": (
        [
            "",
            "Produced by Juliet Sutherland and the Online Distributed",
            "Proofreading Team at http://www.pgdp.net",
            "",
            "Transcriber's Note:",
            "",
            "  Obvious typographical errors have been corrected. Archaic and",
            "  variant spellings have been retained as in the original.",
            "",
            "A BOOK",
        ],
        "Transcriber's Note:",
        ["Produced by Juliet Sutherland and the Online Distributed"],
    ),
    "spellings kept": (
        [
            "",
            "[Transcriber's note: The original spelling has been preserved.]",
            "",
            "A BOOK",
        ],
        "[Transcriber's note: The original spelling has been preserved.]",
        [],
    ),
    # 17997-8.txt, Contribution to Passamaquoddy Folk-Lore (2006): the HTML note goes, the
    # transcriber's note on the book's symbols stays
    "symbols kept": (
        [
            "",
            "",
            "E-text prepared by Thierry Alberto, Linda Cantoni, and the Project",
            "Gutenberg Online Distributed Proofreading Team (http://www.pgdp.net/)",
            "",
            "",
            "",
            "Note: Project Gutenberg also has an HTML version of this file",
            "      which includes the original illustrations and sound clips.",
            "      See 17997-h.htm or 17997-h.zip:",
            "      (http://www.gutenberg.net/dirs/1/7/9/9/17997/17997-h/17997-h.htm)",
            "",
            "",
            "",
            "Transcriber's note:",
            "",
            "      The symbol [=] followed by a vowel represents a macron.",
            "      The symbol [)] followed by a vowel represents a breve.",
            "",
            "",
            "Hemenway Southwestern Arch\u00e6ological Expedition",
        ],
        "Transcriber's note:",
        [
            "E-text prepared by Thierry Alberto, Linda Cantoni, and the Project",
            "Note: Project Gutenberg also has an HTML version of this file",
        ],
    ),
    # 21849-8.txt, The 'Mind the Paint' Girl (2007): a bracketed note of three paragraphs that
    # ends on the book's errors is the book's, however it starts
    "bracketed note kept": (
        [
            "",
            "Produced by Louise Hope, Branko Collin and the Online",
            "Distributed Proofreading Team at http://www.pgdp.net",
            "",
            "",
            "  [Transcriber's Note:",
            "",
            "  The HTML version of this e-text includes the third-act song",
            '  ("If you would only, only love me") in three forms: raw lilypond',
            "  (.ly extension, can be converted to other formats), .pdf (image),",
            "  and MIDI file.",
            "",
            '  The published play did not include music for the title song ("Mind',
            '  the Paint"), sung in Act I.',
            "",
            "  Errors are listed at the end of the e-text.]",
            "",
            "",
            "  THE",
            '  "MIND THE PAINT"',
            "  GIRL",
        ],
        "  [Transcriber's Note:",
        ["Produced by Louise Hope, Branko Collin and the Online"],
    ),
    # 31894-0.txt, Two Latin Plays for High-School Students (2010): a note on the file's
    # encoding is the file's, not the book's
    "encoding note": (
        [
            "",
            "Produced by Louise Hope, David Starner, Chuck Greif and",
            "the Online Distributed Proofreading Team at",
            "http://www.pgdp.net",
            "",
            "",
            "[This e-text includes characters that require UTF-8 (Unicode) file",
            "encoding:",
            "",
            "  \u0100\u0101 \u0112\u0113 \u012a\u012b \u014c\u014d \u016a\u016b",
            "",
            "If any of these characters do not display properly--in particular,",
            "if the diacritic does not appear directly above the letter--or if the",
            "apostrophes and quotation marks in this paragraph appear as garbage,",
            "make sure your text reader\u2019s \u201ccharacter set\u201d or "
            "\u201cfile encoding\u201d is set",
            "to Unicode (UTF-8). You may also need to change the default font. As a",
            "last resort, use the Latin-1 version of the file instead.]",
            "",
            "",
            "  TWO LATIN PLAYS FOR",
            "  HIGH-SCHOOL STUDENTS",
        ],
        "  TWO LATIN PLAYS FOR",
        [
            "Produced by Louise Hope, David Starner, Chuck Greif and",
            "[This e-text includes characters that require UTF-8 (Unicode) file",
        ],
    ),
    # old/7psss10.txt, Poems on Serious and Sacred Subjects (2003): a credit with no verb
    "bare credit": (
        [
            "",
            "Jonathan Ingram, Graham Smith and the PG Online Distributed Proofreading Team.",
            "",
            "",
            "POEMS ON SERIOUS AND SACRED SUBJECTS,",
        ],
        "POEMS ON SERIOUS AND SACRED SUBJECTS,",
        ["Jonathan Ingram, Graham Smith and the PG Online Distributed Proofreading Team."],
    ),
    # 52834-0.txt, Guernsey Folk Lore (2016): an untitled note on corrections stays
    "untitled corrections": (
        [
            "",
            "Produced by MWS and the Online Distributed Proofreading",
            "Team at http://www.pgdp.net (This file was produced from",
            "images generously made available by The Internet Archive)",
            "",
            "",
            "The listed errata have been corrected (although the list is by no",
            "means comprehensive), as have obvious typos. However, the original",
            "text contained inconsistencies in hyphenation, accents and sometimes",
            "spelling--these have been retained.",
            "",
            "GUERNSEY FOLK-LORE.",
        ],
        "The listed errata have been corrected (although the list is by no",
        ["Produced by MWS and the Online Distributed Proofreading"],
    ),
    # a title page's credits belong to the book
    "title page": (
        ["", "A BOOK", "", "Edited by John Smith", "", "Translated by Benjamin Jowett"],
        "A BOOK",
        [],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_production_notes_are_cut_and_listed(case: str) -> None:
    after, first, notes = CASES[case]
    lines = ["The Project Gutenberg EBook of A Book", "", START, *after, "", END]
    cleaned = clean_bytes(("\r\n".join(lines) + "\r\n").encode(), CleanOptions(), source=case)
    assert cleaned.report.first_line == first.strip()
    assert cleaned.text.startswith(first + "\n")
    assert list(cleaned.report.notes) == notes
    kept = after[after.index(first) :]
    assert cleaned.text == "\n".join(kept).strip("\n") + "\n"


def test_skip_notes_returns_the_book_line_and_the_notes() -> None:
    html = "Note: Project Gutenberg also has an HTML version of this"
    lines = ["", "Produced by A", "and B", "", "", html, "  file.", "", "X"]
    assert skip_notes(lines, 0) == (8, ["Produced by A", html])
    assert skip_notes(["X"], 0) == (0, [])
    assert skip_notes(["", ""], 0) == (2, [])


@pytest.mark.parametrize(
    ("line", "note"),
    [
        ("E-text prepared by Judy Boss", True),
        ("Etext scanned by Martin Ward", True),
        ("Scanned and proofed by Ron Burkey", True),
        ("Scanned, proofed and formatted by John Bickers", True),
        ("This Etext prepared by Dianne Bean", True),
        ("This etext was provided by Pat Castevans", True),
        ("HTML version by Al Haines.", True),
        ("Produced from images generously made available by the Internet Archive", True),
        ("Edited by John Smith", False),
        ("Translated by Benjamin Jowett", False),
        ("CHAPTER I. A produced by-product", False),
        ("Transcriber's Note: Obvious errors have been corrected.", False),
    ],
)
def test_note_first_lines(line: str, note: bool) -> None:
    assert (NOTES.match(line) is not None) == note
    assert is_note([line]) == note


def test_notes_after_the_book_starts_are_text() -> None:
    """Only notes before the book are cut: the same wording later is the book's."""
    lines = [START, "", "A BOOK", "", "Produced by the author at his own cost.", "", END]
    cleaned = clean_bytes("\n".join(lines).encode(), CleanOptions(), source="b")
    assert cleaned.text == "A BOOK\n\nProduced by the author at his own cost.\n"
    assert cleaned.report.notes == ()


@pytest.mark.parametrize(
    "note",
    [
        ["Produced by A. Reader and the Online Distributed", "Proofreading Team at www.pgdp.net"],
        [
            "This file was produced from images generously made available",
            "by the Internet Archive.",
        ],
    ],
)
def test_a_production_note_above_the_end_marker_is_cut_and_listed(note: list[str]) -> None:
    """Written in the wording of 2000s files that put the credit at the bottom: the book ends
    at its own last line, and the note is listed with those cut from the top."""
    ending = "End of the Project Gutenberg EBook of A Book, by Someone"
    lines = [START, "", "A BOOK", "", "It ended.", "", "THE END", "", "", *note, "", "", ending]
    cleaned = clean_bytes("\r\n".join([*lines, END, ""]).encode(), CleanOptions(), source="b")
    assert cleaned.text == "A BOOK\n\nIt ended.\n\nTHE END\n"
    assert cleaned.report.last_line == "THE END"
    assert cleaned.report.notes == (note[0],)


def test_a_note_inside_the_front_matter_is_cut_and_listed() -> None:
    """A production note after the title (7370's "Digitized by") goes; the title stays."""
    lines = [
        START,
        "",
        "A BOOK",
        "",
        "by Someone",
        "",
        "Digitized by A. Reader for this etext.",
        "",
    ]
    lines += ["CHAPTER I", "", "It began.", "", END]
    cleaned = clean_bytes("\n".join(lines).encode(), CleanOptions(), source="b")
    assert cleaned.text == "A BOOK\n\nby Someone\n\n\nCHAPTER I\n\nIt began.\n"
    assert cleaned.report.notes == ("Digitized by A. Reader for this etext.",)
    assert cleaned.report.removed_top == 3  # the marker, a blank line, the note


@pytest.mark.parametrize("size", [1, 3, 7, 100])
def test_drop_spans_across_blocks(size: int) -> None:
    text = "0123456789abcdefghij"
    spans = ((0, 2), (5, 9), (12, 13), (19, 20))
    blocks = [text[i : i + size] for i in range(0, len(text), size)]
    assert "".join(drop_spans(blocks, spans)) == "234" + "9ab" + "defghi"
