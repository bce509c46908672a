"""Is a capitalised word in a question a name, or an ordinary word written with a capital?

The abstention rule (`rag.answer.answerability`) treats a capitalised word the corpus never
uses as a name it lacks ("Portugal"). An English question on Norwegian documents that
capitalises an ordinary word ("What did the Police say about Communication problems?")
then abstained, although lower-case words are never held against a question. tiktoken's
cl100k vocabulary (mostly English; tokens are numbered by frequency, a lower rank is more
frequent) tells the two apart without a word list: an ordinary word is one token in lower
case, and that token is more frequent than the capitalised form (or the capitalised form
needs more tokens). "police" (rank 4379) beats "Police" (10289); "portugal" is two tokens
and "Portugal" one.

`RANK_RATIO` was calibrated on half of `rag/eval/data/capitalised_words.json` (place and
person names against ordinary words) and is checked on the other half in
tests/test_answer_parts.py: 63 of 75 ordinary words recognised, 4 of 61 names misread
as ordinary ("Oslo", "Norge", "Nav", "Rotterdam"). Words in capitals
(acronyms: "WHO", "ADHD") are always names; so are ordinary words that take several
tokens ("Painkillers"), which keeps the old rule for them.
"""
from __future__ import annotations

import re
from functools import lru_cache

from rag.index.lexical import analyse
from rag.index.tokens import encoding

WORD = re.compile(r"[^\W\d_]+")
HYPHENATED_WORD = re.compile(r"[^\W\d_][\w-]*")
# A question with at least this share of its later words capitalised is typed in Title Case: its
# capitals say nothing of names ("What Did The Police Say About Lack Of Resources?" abstained: e5
# embeds Title Case text further from the passages than the same words in sentence case).
TITLE_SHARE = 0.6

# The lower-case token must be at least this much more frequent (rank x RANK_RATIO) than the
# capitalised one: place names such as "Bergen" rank about the same in both cases.
RANK_RATIO = 0.9


@lru_cache(maxsize=4096)
def is_ordinary_word(word: str) -> bool:
    """True when `word`, written with a capital, is an ordinary (lower-case) word."""
    lower = word.lower()
    if word.isupper() or lower == word:
        return False
    if "-" in word:  # "Low-threshold", "Drug-using": each capitalised part must be ordinary
        parts = [part for part in word.split("-") if part]
        return all(part.islower() or is_ordinary_word(part) for part in parts)
    lower_tokens = encoding().encode_ordinary(" " + lower)
    capital_tokens = encoding().encode_ordinary(" " + word)
    if len(lower_tokens) != 1:
        return False
    return len(capital_tokens) > 1 or lower_tokens[0] < RANK_RATIO * capital_tokens[0]


def all_known_words(text: str, vocabulary) -> bool:
    """True when every word of `text` is a word the corpus uses (`vocabulary`: its analysed terms)
    or a common English one (a single cl100k token): no misspelling ("polise")."""
    return all(len(encoding().encode_ordinary(" " + word)) == 1 or any(term in vocabulary for term in analyse(word))
               for word in WORD.findall(text.lower()))


def in_sentence_case(question: str) -> str:
    """A question typed in Title Case or in capitals, with its ordinary words in lower case (names
    keep their capital: "What Did The Police Say About Portugal?" -> "What did the police say about
    Portugal?"); any other question as it is."""
    words = [w for w in HYPHENATED_WORD.findall(question) if len(w) > 2]
    shouting = len(words) > 1 and all(w.isupper() for w in words)
    later = words[1:]
    titled = len(later) >= 2 and sum(w[0].isupper() for w in later) >= TITLE_SHARE * len(later)
    if not (shouting or titled):
        return question

    def cased(match: re.Match) -> str:
        word = match.group(0).capitalize() if shouting else match.group(0)
        return word.lower() if is_ordinary_word(word) else word

    text = HYPHENATED_WORD.sub(cased, question)
    return text[:1].upper() + text[1:]
