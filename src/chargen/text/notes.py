"""Production, credit, edition and file notes between a Project Gutenberg header and the book.

Ebooks of 2000-2016 open with who produced them, from which images or edition, where the
HTML version is and which encoding the file needs; some put such a note after the title
page, or head the book with an ebook editor's note or an index of the other Project
Gutenberg volumes. These paragraphs are cut (their first lines listed in the summary); a
transcriber's note that speaks of the book's own text (corrections, kept spellings) stays.
"""

from __future__ import annotations

import re

# By the first line of their paragraph: who made, scanned, proofread or transcribed the
# ebook, from which edition, and where its HTML version or the page images are. Every era's
# wording: "Produced by", "E-text prepared by", "This etext was prepared by", "This eBook was
# produced by", "Text file produced by", "Transcribed from the 1898 edition by", "Digitized
# by", "Entered by", "Electronic version prepared by", "Illustrated HTML file produced by",
# "This book was produced from scanned images", "Special thanks to", "Note: Project Gutenberg
# also has an HTML version of this file", "Images of the original pages are available
# through", "Note: See also ... eBook #150", "Note from the original file: This electronic book
# is being released ...".
_WHO = (
    r"(produced|prepared|provided|created|scanned|proof-?read|proofed|transcribed|digiti[sz]ed"
    r"|(re-?)?formatted|converted|typed|keyed|generated|entered)"
)
# The ebook's title line repeated under a 1990s or 2000s header: "The Project Gutenberg Etext
# of Candide", with "by Voltaire" on the next line or in the next paragraph
_TITLE = r"(the\s+)?project\s+gutenberg'?s?\s+e-?(text|book)\s+of\b"
TITLE = re.compile(rf"^\s*{_TITLE}", re.IGNORECASE)
# "Edited by" on its own is a title page's; an e-text's editor is named as such
_EBOOK = (
    r"((illustrated\s+)?(e-?text|e-?book|etext\s+file|text\s+file|html\s+(file|version)"
    r"|this\s+file|electronic\s+(text|version|edition)))"
)
NOTES = re.compile(
    r"^\s*[\[(]?\s*(note\s*:\s*)?("
    rf"({_EBOOK}\s*)?{_WHO}(\s*(,|and|&)\s*{_WHO})*\s+(by|from)\b"
    rf"|({_EBOOK}\s*(edited|corrected|updated)|html\s+version)\s+by\b"
    rf"|this\s+(book|text)\s+(was|has\s+been)\s+(\w+ly\s+)?{_WHO}\s+(by|from)\b"
    r"|dieses\s+(buch|e-?book|e-?text)\s+wurde\s+uns\b"  # "... vom Gutenberg Projekt-DE"
    rf"|this\s+(project\s+gutenberg\s+)?(e-?text|e-?book|file|edition)\s+"
    rf"(was\s+|is\s+|has\s+been\s+)?(first\s+)?{_WHO}"
    r"|project\s+gutenberg\s+(also\s+)?has\s+an?\s+html\s+version"
    r"|(an?\s+)?html\s+version\s+(of\s+this\s+(e-?book|e-?text|file)\s+)?(is\s+)?(also\s+)?"
    r"available"
    r"|images\s+of\s+the\s+original\s+(pages|book)\s+(are|is)\s+available"
    r"|(page\s+)?images\s+(generously\s+)?(made\s+)?available\s+(by|from|through|at)"
    r"|the\s+original\s+(page\s+)?(images|scans)\s+(are|is)\s+available"
    r"|see\s+also\b.*\be-?(book|text)\s*#\s*\d"
    r"|the\s+internet\s+wiretap\b.*\bedition"
    r"|note\s+from\s+the\s+(original\s+)?(e-?text|e-?book|file)\b"
    r"|(special\s+|many\s+)?thanks\s+(are\s+due\s+)?to\b|we\s+thank\b|nous\s+remercions\b"
    r"|additional\s+editing\s+by\b|electronic\s+edition\s+by\b"
    r"|portions\s+of\s+this\s+header\b|project\s+gutenberg\s+is\s+a\s+trade\s*mark\b"
    rf"|{_TITLE}"
    r"|updated\s+editions\s+will)",
    re.IGNORECASE,
)
# A transcriber's note that tells where the text came from is a production note; one that
# speaks of the book's own text (its corrections, kept spellings) stays with the book.
TRANSCRIBER = re.compile(
    r"^\s*\[?\s*((original\s+)?transcriber'?\u2019?s'?\s+notes?\b"
    r"|notes?\s+on\s+this\s+e-?(text|book)\b)",  # "Notes on this etext of Moby Dick:"
    re.IGNORECASE,
)
_SOURCE = re.compile(
    r"\b(prepared|produced|transcribed|scanned|taken|made)\s+from\b|page\s+images"
    r"|html\s+version|\bimages\s+of\s+the\s+original|archive\.org|\bpgdp\b"
    r"|combination\s+of\s+e-?texts|project\s+gutenberg",
    re.IGNORECASE,
)
# What the ebook's makers added about the edition: "Ebook Editor's Note", "Preparer's Note"
# (which translation the text follows), an index of the other Project Gutenberg volumes of a
# series and its table ("PG EBOOK#").
EDITION = re.compile(
    r"^\s*\[?\s*((e-?book|e-?text)\s+editor|preparer)'?\u2019?s\s+(notes?|bookmarks)"
    r"|^\W*(linked\s+index\s+of\s+)?project\s+gutenberg\s+(e-?books?|e-?texts?|volumes)\b",
    re.IGNORECASE,
)
_EDITION_TABLE = re.compile(r"\bPG\s+E-?BOOK\s*#", re.IGNORECASE)
# Notes on the file itself: which encoding it needs, what its readers must set.
FILE_NOTE = re.compile(
    r"^\s*\[?\s*this\s+(e-?)?(text|book|file|work)\s+(uses|includes|is\s+intended|requires"
    r"|contains\s+(\S+\s+){0,4}characters|was\s+(saved|encoded))",
    re.IGNORECASE,
)
# a file note on encodings and readers is the file's, whatever else it says of the text
_ENCODING = re.compile(
    r"utf-?8|unicode|latin-?1|iso-?8859|character\s+set|file\s+encoding|text\s+readers?"
    r"|\b[78][-\s]?bit\b",
    re.IGNORECASE,
)
_CREDIT = re.compile(r"distributed\s+proof|proofreading\s+team|\bpgdp\.net", re.IGNORECASE)
# 1990s credits, one volunteer a line: "Scanned by Judy Boss", "Proofread by Christy Phillips"
_CREDIT_LINE = re.compile(
    r"\b(scanned|proof-?read|re-?proofed|typed|submitted)\s+(\w+\s+)?by\b", re.IGNORECASE
)
_LONGEST_NOTE = 120  # lines a bracketed note may span before it is taken for the book's text
_HEADING = 45  # characters of a heading line ("Transcriber's Note:") that heads a note
# Lines after the book's first one searched for notes inside the front matter: a title page,
# a dedication and a contents list fit, the book's own text mostly starts later.
FRONT_MATTER = 150
# Past the book's first line a note must also speak of the ebook ("Produced by the author at
# his own cost" is the book's)
_EBOOK_WORDS = re.compile(
    r"e-?texts?\b|e-?books?\b|project\s+gutenberg|\bPG\b|pgdp|proofread|html|digiti[sz]ed"
    r"|transcri|preparer|electronic|internet|online|@|\bimages\b|\bscans\b",
    re.IGNORECASE,
)
_ABOUT_TEXT = re.compile(
    r"correct|spelling|typo|error|preserved|retained|inconsisten|hyphen|italic|punctuation"
    r"|footnote|illustration|original\s+(text|book)\s+(has|uses)|changed|amended|variant",
    re.IGNORECASE,
)


def skip_notes(lines: list[str], i: int) -> tuple[int, list[str]]:
    """Skip blank lines and paragraphs of production notes ("Produced by ...") from line `i`;
    returns where the book starts and the first line of each note skipped, so the summary
    can show the cut."""
    removed = []
    while True:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            return i, removed
        end = _note_end(lines, i)
        paragraph = [line for line in lines[i:end] if line.strip()]
        if removed and not any(c.isalnum() for c in "".join(paragraph)):
            i = end  # a "***" between two notes
            continue
        if not is_note(paragraph):
            return i, removed
        removed.append(_shown(paragraph))
        i = end


def front_notes(lines: list[str], first: int, stop: int) -> list[tuple[int, int, str]]:
    """Notes inside the front matter, after the book's first paragraph at line `first` and
    within FRONT_MATTER lines of it (and before `stop`): (first line, end, shown) of each.

    A production note after the title ("Digitized by ..."), an edition note after the
    author's name, an ebook editor's note or an index of the Project Gutenberg volumes."""
    found = []
    i = _paragraph_end(lines, first)
    stop = min(stop, first + FRONT_MATTER, len(lines))
    while i < stop:
        while i < stop and not lines[i].strip():
            i += 1
        if i >= stop:
            break
        end = min(_note_end(lines, i), stop)
        paragraph = [line for line in lines[i:end] if line.strip()]
        if is_note(paragraph) and _EBOOK_WORDS.search(" ".join(paragraph)):
            found.append((i, end, _shown(paragraph)))
        i = end
    return found


def bottom_notes(lines: list[str], last: int, floor: int) -> tuple[int, list[str]]:
    """Production notes that end the text just above the end marker ("Produced by ... for
    Project Gutenberg", "This etext was prepared from images ..."): the new last line and the
    first line of each note, top to bottom. Like a note inside the front matter, one must also
    speak of the ebook; a note on the book's own text stays (see `is_note`)."""
    removed: list[str] = []
    while last >= floor:
        start = last
        while start > floor and lines[start - 1].strip():
            start -= 1
        paragraph = [line for line in lines[start : last + 1] if line.strip()]
        if not is_note(paragraph) or not _EBOOK_WORDS.search(" ".join(paragraph)):
            break
        removed.insert(0, _shown(paragraph))
        last = start - 1
        while last >= floor and not lines[last].strip():
            last -= 1
    return last, removed


def _shown(paragraph: list[str]) -> str:
    """The note's first line for the summary; a heading with what it heads."""
    shown = paragraph[0].strip()
    if len(paragraph) > 1 and len(shown) < 30 and shown.endswith(":"):
        shown = f"{shown} {paragraph[1].strip()}"
    return shown


def _note_end(lines: list[str], i: int) -> int:
    """The end of the note starting at line `i`: its paragraph, a bracketed note's paragraphs
    up to the closing bracket, or a heading ("Transcriber's Note:", "Ebook Editor's Note")
    and the paragraph after it."""
    end = _paragraph_end(lines, i)
    first = lines[i].strip()
    if first.startswith("["):
        depth = sum(line.count("[") - line.count("]") for line in lines[i:end])
        stop = end
        while depth > 0 and stop < len(lines) and stop - i < _LONGEST_NOTE:
            while stop < len(lines) and not lines[stop].strip():
                stop += 1
            after = _paragraph_end(lines, stop)
            depth += sum(line.count("[") - line.count("]") for line in lines[stop:after])
            stop = after
        return stop if depth <= 0 else end
    if TITLE.match(first):
        nxt = end
        while nxt < len(lines) and not lines[nxt].strip():
            nxt += 1
        by_line = nxt < len(lines) and lines[nxt].strip().lower().startswith("by ")
        return (
            _paragraph_end(lines, nxt) if by_line and _paragraph_end(lines, nxt) == nxt + 1 else end
        )
    heading = TRANSCRIBER.match(first) or EDITION.match(first)
    if end == i + 1 and heading and len(first) < _HEADING:
        nxt = end
        while nxt < len(lines) and not lines[nxt].strip():
            nxt += 1
        return _paragraph_end(lines, nxt)
    return end


def _paragraph_end(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i].strip():
        i += 1
    return i


def is_note(paragraph: list[str]) -> bool:
    """Whether a paragraph is a production, credit, edition, file or transcription-source
    note rather than the book: transcriber's and file notes that speak of the book's own text
    (its corrections, kept spellings) belong to the book."""
    text = " ".join(paragraph)
    if TRANSCRIBER.match(paragraph[0]):
        return _SOURCE.search(text) is not None and _ABOUT_TEXT.search(text) is None
    if FILE_NOTE.match(paragraph[0]):
        return _ENCODING.search(text) is not None or _ABOUT_TEXT.search(text) is None
    if NOTES.match(paragraph[0]) or EDITION.match(paragraph[0]):
        return True
    if _EDITION_TABLE.search(paragraph[0]):
        return True
    if sum(1 for line in paragraph if _CREDIT_LINE.search(line)) >= 2:
        return True
    # a credit without "Produced by": "Jonathan Ingram, Graham Smith and the PG Online
    # Distributed Proofreading Team."
    return _CREDIT.search(text) is not None and _ABOUT_TEXT.search(text) is None
