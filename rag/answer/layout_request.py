"""A request for the answer's layout is no part of what to search for.

"Summarise the op-ed in three bullet points" scored below the abstention threshold that
"Summarise the op-ed" passes, and "What did the police say? Answer in one paragraph." was
searched with "Answer." in it. So the search leaves out a layout phrase ("in three bullet
points", "i punktform", "briefly") and a sentence or clause that asks for nothing else
("Keep it short.", "Maks tre setninger.", "- answer in one paragraph").

A word that only sometimes names a layout ("table", "ord", "list") is taken for one only with
a count before it ("in two sentences") or at the end of a clause ("as a list."): "What is in
table 2?", "med ord som «narkoman»" and "treated as a list of diagnoses" keep their words.
"""
from __future__ import annotations

import re

from rag.language import IN_LANGUAGE_AT_CLAUSE_END, LANGUAGE_NAMES

PREPOSITION = r"(?:in|as|into|using|with|i|som|med|på)"
COUNT = (r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+|en|ett|én|ei|to|tre|fire|fem|seks|sju|syv|"
         r"åtte|ni|ti|a few|single|enkelt|short|brief|bulleted|numbered|korte?|max|maks|maximum|maksimalt|at most|"
         r"høyst|inntil|no more than|not more than|under|less than|fewer than|mindre enn)")
ALWAYS_LAYOUT = (r"(?:bullet[- ]?points?|bullets|bullet form|kulepunkt(?:er)?|punktform|punktliste|stikkordsform|"
                 r"table form|tabular form|tabellform|numbered list|nummerert liste)")
SOMETIMES_LAYOUT = r"(?:points|sentences?|words|paragraphs?|list|table|punkter|setning(?:er)?|ord|avsnitt|liste|tabell)"
# A request for plain words is a request for the answer's style, not part of what to search for.
PLAIN_WORDS = (r"(?:(?:explain|forklar)(?:\s+(?:it|this|det))?\s+)?"
               r"(?:like\s+i['’]?m\s+(?:five|5)|eli5|in\s+(?:plain|simple|layman['’]?s?)\s+(?:english|language|terms|words)|"
               r"som\s+om\s+jeg\s+er\s+(?:fem|5)(?:\s+år)?|med\s+enkle\s+ord|på\s+en\s+enkel\s+måte|"
               r"på\s+lettlest(?:\s+norsk)?)")
LAYOUT_PHRASE = re.compile(
    rf"[,;]?\s*\b{PREPOSITION}\s+(?:{COUNT}\s+)*{ALWAYS_LAYOUT}\b"
    rf"|[,;]?\s*\b{PREPOSITION}\s+(?:{COUNT}\s+)+{SOMETIMES_LAYOUT}\b(?!\s*(?:\d|of|som|av|from|fra)\b)"
    rf"|[,;]?\s*\b{PREPOSITION}\s+{SOMETIMES_LAYOUT}(?=\s*(?:please|takk)?\s*(?:[.?!,;:]|$))"
    r"|[,;]?\s*\b(?:briefly|kort fortalt|kortfattet)\b"
    rf"|[,;]?\s*\b{PLAIN_WORDS}\b"
    r"|[,;]?\s*\b" + IN_LANGUAGE_AT_CLAUSE_END, re.IGNORECASE)
# What a sentence that only asks for a layout (or a language) is made of: at least one word of the
# layout itself ...
LAYOUT_WORDS = frozenset(LANGUAGE_NAMES) | frozenset("""short shorter brief briefly concise bullet bullets
points point paragraph paragraphs sentence sentences words list table tl dr summary lines markdown intro
introduction headings kort kortere kortfattet konsis konsist punktform punktliste kulepunkt kulepunkter punkter
setning setninger avsnitt ord stikkord stikkordsmessig liste tabell sammendrag linjer""".split())
# ... and otherwise only words that ask for it.
ASKING_FOR_LAYOUT = LAYOUT_WORDS | frozenset("""answer reply respond write give me use keep it to be please max
maximum at most no not more than under within less fewer only just with in as a an the one two three four five
six ten numbered form format put your and or single plain simple can you could without language svar svaret
skriv gi meg bruk hold det takk maks maksimalt høyst på i en ett én ei to tre fire fem med som holder vær vennligst mer
enn ikke bare kun nummerert og eller uten et enkel enkelt kan du språk""".split())
# Where a question and a request may part: after a full stop, "?" or "!", at a dash, a semicolon or a
# line break; and a closing parenthesis ("... about the media (one short paragraph)").
CLAUSE_BREAK = re.compile(r"((?<=[.?!])\s+|\s+[-–—]\s+|;\s+|\s*\n\s*)")
CLOSING_ASIDE = re.compile(r"\s*\(([^()]*)\)(?=\s*[.?!]?\s*$)")
OPENING_ASIDE = re.compile(r"^\s*([^:?.!]{1,60}):\s*")  # "Briefly, and in Norwegian: what did ...?"
WORD = re.compile(r"\w+")


def without_layout_request(question: str) -> str:
    """The question without a request for the answer's layout; the question itself when nothing
    else would be left."""
    for aside in (CLOSING_ASIDE.search(question), OPENING_ASIDE.match(question)):
        rest = question[:aside.start()] + " " + question[aside.end():] if aside else ""
        if aside and rest.strip() and _asks_only_for_layout(aside.group(1)):
            question = rest
    pieces = CLAUSE_BREAK.split(question.strip())
    clauses, breaks = pieces[0::2], pieces[1::2]
    keep = [not _asks_only_for_layout(clause) for clause in clauses]
    if not any(keep):
        return question
    text = clauses[0] if keep[0] else ""
    for clause, gap, kept in zip(clauses[1:], breaks, keep[1:]):
        text += (gap if text else "") + clause if kept else ""
    text = " ".join(LAYOUT_PHRASE.sub(" ", text).split())
    text = re.sub(r"^[\s:;,.\-–—]+", "", re.sub(r"\s+([?.!,:])", r"\1", text))
    text = re.sub(r"([?!])\.+$", r"\1", text)  # the full stop of a request taken out after it
    return text or question


def _asks_only_for_layout(clause: str) -> bool:
    """A clause that is no question and is made only of a request for a layout."""
    words = [word.lower() for word in WORD.findall(clause)]
    if clause.rstrip().endswith("?") or not words:
        return False
    return any(w in LAYOUT_WORDS for w in words) and all(w in ASKING_FOR_LAYOUT or w.isdigit() for w in words)
