"""Production and credit notes between a Project Gutenberg start marker and the book.

Each case is the text after the start marker of a 2003-2012 ebook, copied from the file named
(GITenberg's per-book repositories of Project Gutenberg's files) or, where marked, written in
the wording those years' files use; the first kept line is read off the file by hand."""

from __future__ import annotations

import pytest

from chargen.text.clean import CleanOptions
from chargen.text.document import clean_bytes
from chargen.text.gutenberg import NOTES, is_note, skip_notes

START = "*** START OF THIS PROJECT GUTENBERG EBOOK A BOOK ***"
END = "*** END OF THIS PROJECT GUTENBERG EBOOK A BOOK ***"

# (after the start marker, first kept line, first line of each removed note)
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
    assert cleaned.report.first_line == first
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
