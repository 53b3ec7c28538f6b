"""Short synthetic Project Gutenberg files: real header and footer lines of each era, a few
lines of book in between. `(header, body, footer)` line lists, so tests know the exact cut."""

from __future__ import annotations

LICENCE_2000S = [
    "",
    "*** END OF THIS PROJECT GUTENBERG EBOOK LE TOUR DU MONDE ***",
    "",
    "***** This file should be named 800-8.txt or 800-8.zip *****",
    "This and all associated files of various formats will be found in:",
    "        http://www.gutenberg.org/8/0/800/",
    "",
    "Updated editions will replace the previous one--the old editions",
    "will be renamed.",
    "",
    "*** START: FULL LICENSE ***",
    "",
    "THE FULL PROJECT GUTENBERG LICENSE",
    "PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK",
    "",
]

ERAS: dict[str, tuple[list[str], list[str], list[str]]] = {
    # 1990s: the long "Small Print" header, closed by *END*THE SMALL PRINT!
    "1990s": (
        [
            "**The Project Gutenberg Etext of Alice in Wonderland**",
            "*This 30th edition should be labeled alice30.txt or alice30.zip.",
            "***This Edition Is Being Officially Released On March 8, 1994***",
            "",
            "Copyright laws are changing all over the world, be sure to check",
            "the copyright laws for your country before posting these files!!",
            "",
            "**Welcome To The World of Free Plain Vanilla Electronic Texts**",
            "",
            "**Etexts Readable By Both Humans and By Computers, Since 1971**",
            "",
            "*These Etexts Prepared By Hundreds of Volunteers and Donations*",
            "",
            "***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***",
            'Why is this "Small Print!" statement here?  You know: lawyers.',
            "They tell us you might sue us if there is something wrong with",
            "your copy of this etext, even if you got it for free from",
            "",
            "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*",
            "",
            "",
        ],
        [
            "ALICE'S ADVENTURES IN WONDERLAND",
            "",
            "Lewis Carroll",
            "",
            "CHAPTER I",
            "Alice was beginning to get very tired of sitting by her sister",
            "",
            "                THE END",
        ],
        [
            "",
            "",
            "End of The Project Gutenberg Etext of Alice in Wonderland",
            "",
        ],
    ),
    # 1990s with "End of this Project Gutenberg Etext" and an E-text credit line.
    "1990s-credit": (
        [
            "The Project Gutenberg Etext of Paradise Lost, by John Milton",
            "",
            "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*",
            "",
            "",
            "E-text prepared by Judy Boss",
            "",
            "",
        ],
        [
            "PARADISE LOST",
            "",
            "Of Mans First Disobedience, and the Fruit",
            "Of that Forbidden Tree, whose mortal tast",
        ],
        [
            "",
            "End of this Project Gutenberg Etext of Paradise Lost.",
            "",
        ],
    ),
    # 2000s: Latin-1 French with "Produced by" notes and the long licence.
    "2000s": (
        [
            "The Project Gutenberg EBook of Le tour du monde en quatre-vingts jours, by"
            " Jules Verne",
            "",
            "This eBook is for the use of anyone anywhere at no cost and with",
            "almost no restrictions whatsoever.  You may copy it, give it away or",
            "re-use it under the terms of the Project Gutenberg License included",
            "with this eBook or online at www.gutenberg.net",
            "",
            "Title: Le tour du monde en quatre-vingts jours",
            "",
            "Release Date: January 1, 2004 [EBook #800]",
            "",
            "Language: French",
            "",
            "Character set encoding: ISO-8859-1",
            "",
            "*** START OF THIS PROJECT GUTENBERG EBOOK LE TOUR DU MONDE ***",
            "",
            "",
            "",
            "",
            "Produced by Carlo Traverso, Anne Dreze and the Online",
            "Distributed Proofreading Team.",
            "",
            "",
        ],
        [
            "LE TOUR DU MONDE EN QUATRE-VINGTS JOURS",
            "",
            "I",
            "DANS LEQUEL PHILEAS FOGG ET PASSEPARTOUT S'ACCEPTENT R\u00c9CIPROQUEMENT,",
            "L'UN COMME MA\u00ceTRE, L'AUTRE COMME DOMESTIQUE",
            "",
            "En l'ann\u00e9e 1872, la maison port\u00e9e sous le num\u00e9ro 7 de Saville-row,",
            "\u00ab Fin \u00bb",
        ],
        [
            "",
            "",
            "",
            "End of the Project Gutenberg EBook of Le tour du monde en quatre-vingts"
            " jours, by Jules Verne",
            *LICENCE_2000S,
        ],
    ),
    # 2010s: the comma form and "Transcribed from" credits.
    "2010s": (
        [
            "The Project Gutenberg EBook of The Time Machine, by H. G. Wells",
            "",
            "Release Date: October 2, 2004 [EBook #35]",
            "",
            "*** START OF THE PROJECT GUTENBERG EBOOK, THE TIME MACHINE ***",
            "",
            "",
            "Transcribed from the 1898 Heinemann edition by David Price, email",
            "ccx074@pglaf.org",
            "",
            "",
            "",
        ],
        ["THE TIME MACHINE", "", "The Time Traveller (for so it will be convenient to speak"],
        [
            "",
            "*** END OF THE PROJECT GUTENBERG EBOOK, THE TIME MACHINE ***",
            "",
            "Updated editions will replace the previous one--the old editions",
        ],
    ),
    # 2020s: UTF-8 German, no space after the stars.
    "2020s-nospace": (
        [
            "\ufeffThe Project Gutenberg eBook of Die Verwandlung, by Franz Kafka",
            "",
            "This eBook is for the use of anyone anywhere in the United States and",
            "most other parts of the world at no cost and with almost no restrictions",
            "",
            "Title: Die Verwandlung",
            "",
            "Language: German",
            "",
            "Character set encoding: UTF-8",
            "",
            "***START OF THE PROJECT GUTENBERG EBOOK DIE VERWANDLUNG***",
            "",
            "",
        ],
        [
            "Die Verwandlung",
            "",
            "Als Gregor Samsa eines Morgens aus unruhigen Tr\u00e4umen erwachte, fand er sich",
            "in seinem Bett zu einem ungeheueren Ungeziefer verwandelt. Stra\u00dfe.",
        ],
        [
            "",
            "",
            "***END OF THE PROJECT GUTENBERG EBOOK DIE VERWANDLUNG***",
            "",
            "Updated editions will replace the previous one\u2014the old editions will",
            "be renamed.",
        ],
    ),
    # A start marker only (the file was cut short).
    "start-only": (
        [
            "The Project Gutenberg EBook of Emma, by Jane Austen",
            "",
            "*** START OF THE PROJECT GUTENBERG EBOOK EMMA ***",
            "",
        ],
        ["EMMA", "", "Emma Woodhouse, handsome, clever, and rich"],
        ["", ""],
    ),
    # An end marker only.
    "end-only": (
        [],
        ["EMMA", "", "Emma Woodhouse, handsome, clever, and rich"],
        [
            "",
            "End of Project Gutenberg's Emma, by Jane Austen",
            "",
            "*** END OF THIS PROJECT GUTENBERG EBOOK EMMA ***",
        ],
    ),
}

ENCODINGS = {"2000s": "latin-1"}


def era_bytes(era: str, newline: str = "\r\n") -> bytes:
    header, body, footer = ERAS[era]
    text = newline.join(header + body + footer) + newline
    return text.encode(ENCODINGS.get(era, "utf-8"))
