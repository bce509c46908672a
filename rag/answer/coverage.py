"""Does a sentence in its quotes' own language mostly use words the quotes do not have?

Within one language a paraphrase reuses most of its quote's content words (by stem, or as
part of a compound: "overdoserisiko" ~ "overdose"); a claim invented on the right topic
brings its own ("anbefaler", "obligatorisk"). On the calibration half, faithful Norwegian
sentences had at most 4 of 10 content words missing from their quotes and headings, invented
ones at least 7 of 11. Across languages no word list or model on PyPI matches words
reliably (the bundled embedding scores single-word translations no higher than unrelated
pairs), so the test applies only when the sentence and its quotes share a language.
"""
from __future__ import annotations

import re

from rag.answer.polarity import same_word
from rag.index.lexical import STOPWORDS

WORD = re.compile(r"[^\W\d_][\w-]*")
MIN_LETTERS = 4        # shorter words are mostly function words the stop lists miss
MIN_CONTENT_WORDS = 5  # too few words make the share a coin toss


def new_words(sentence: str, text: str, ignore: frozenset[str] = frozenset()) -> tuple[list[str], int]:
    """(content words of `sentence` that do not occur in `text`, number of its content words);
    words in `ignore` (verbs that report speech) are not content. Hyphens do not count
    ("russcene" = "rus-scene")."""
    known = {_unhyphenated(word) for word in WORD.findall(text)}
    words = list(dict.fromkeys(_unhyphenated(w) for w in WORD.findall(sentence)
                               if len(w) >= MIN_LETTERS and w.lower() not in STOPWORDS and w.lower() not in ignore))
    missing = [word for word in words if word not in known and not any(same_word(word, k) for k in known)]
    return missing, len(words)


def mostly_new(sentence: str, text: str, share: float, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The new words when more than `share` of the sentence's content words are new, else []."""
    missing, total = new_words(sentence, text, ignore)
    return missing if total >= MIN_CONTENT_WORDS and len(missing) > share * total else []


def _unhyphenated(word: str) -> str:
    return word.lower().replace("-", "")
