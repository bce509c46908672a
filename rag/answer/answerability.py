"""Should the answerer abstain? Two signals, because cosine alone does not separate them.

On the seeds suite, questions the corpus cannot answer (budgets, other countries,
drugs it never names) reach the same embedding similarity as answerable ones
(0.79-0.85 for e5-small). What does separate many of them is a specific name or
number the corpus never mentions ("Portugal", "2024"). So: abstain when the best
similarity is very low, or when a name or number in the question is absent from the
corpus and the similarity is not high. A question in the passage's own language scores
about 0.05 higher than an English question on Norwegian text, so the caller raises both
thresholds by `abstain_same_language_offset` then. The thresholds are settings,
calibrated on the seeds suite and its unanswerable questions (see README).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from rag.answer.answer_kind import missing_kind
from rag.answer.followup import SAY_ABOUT
from rag.answer.ordinary_words import is_ordinary_word
from rag.index.lexical import analyse
from rag.language import detect_language
from rag.types import Hit

# Capitalised words not at the start of a sentence, and numbers of 3+ digits anywhere ("2024?").
NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.?!:]\s)\b([A-ZÆØÅ][\wæøåÆØÅ-]{2,})|\b(\d{3,})")
# Across languages a name keeps its first letters: at least this many, and this share of the word.
CROSS_LINGUAL_STEM = 5
CROSS_LINGUAL_SHARE = 0.7
# A question of one capitalised word is that word: "Portugal?" (nothing in it starts a sentence).
ONE_NAME = re.compile(r"^\s*([A-ZÆØÅ][\wæøåÆØÅ-]{2,})()\W*$")


def unknown_names(question: str, vocabulary, other_language: bool = False) -> list[str]:
    """Names and numbers in the question that occur nowhere in the indexed text.

    In a question in another language than the corpus (`other_language`), an ordinary word
    written with a capital ("the Police") is no name: it could not occur in the corpus as
    written."""
    return [_name(match) for match in _unknown(question, vocabulary, other_language)]


def absent_speakers(question: str, vocabulary, other_language: bool = False) -> list[str]:
    """Names the corpus lacks in who the question asks about: "What did Jens Stoltenberg say about
    the police?" was answered with the police's words, as if they were his."""
    question = question.strip()
    return _speakers(question, _unknown(question, vocabulary, other_language))


def _unknown(question: str, vocabulary, other_language: bool) -> list[re.Match]:
    """The matches of `unknown_names`, with where they stand."""
    one_name = ONE_NAME.match(question)
    matches = [one_name] if one_name else NAME_OR_NUMBER.finditer(question)
    matches = [m for m in matches if not (other_language and is_ordinary_word(_name(m)))]
    return [m for m in matches if not _known(_name(m), vocabulary, other_language)]


def _known(name: str, vocabulary, other_language: bool) -> bool:
    """True when the corpus holds the name; across languages, also when a corpus word begins
    like it ("European" for "europeiske", "Scandinavian" for "skandinaviske": the same name
    with another language's ending)."""
    if any(term in vocabulary for term in analyse(name)):
        return True
    if not other_language or name.isdigit():
        return False
    stem = name.lower()[:max(CROSS_LINGUAL_STEM, math.ceil(CROSS_LINGUAL_SHARE * len(name)))]
    return len(stem) < len(name) and any(term.startswith(stem) for term in vocabulary)


def _name(match: re.Match) -> str:
    return match.group(1) or match.group(2)


def _speakers(question: str, unknown: list[re.Match]) -> list[str]:
    """Those of the `unknown` matches in the subject of "what did X say about ...", if it asks that."""
    said = next(filter(None, (pattern.match(question) for pattern in SAY_ABOUT)), None)
    if not said:
        return []
    start, end = said.span("subject")
    return [_name(m) for m in unknown if start <= m.start() and m.end() <= end]


@dataclass(frozen=True)
class Evidence:
    """What the abstention rule weighs: the best cosine (less the same-language offset), the
    question's names and numbers the corpus lacks, those among who it asks about, and what it
    asks for that no hit has."""

    similarity: float
    unknown: list[str]
    absent_speakers: list[str] = field(default_factory=list)
    only_unknown: bool = False  # nothing in the question but what the corpus lacks
    missing_kind: str = ""  # "a sum of money" asked for and in no hit (rag.answer.answer_kind)


def should_abstain(evidence: Evidence, low: float, high: float, about_named: bool = False) -> bool:
    """Abstain below `low`, or below `high` when the question names something the corpus lacks,
    or whenever it asks what someone the corpus never names said, asks only about what the
    corpus lacks ("2024?" reached 0.85) or asks for a kind of answer no hit has (a cost); never
    when it asks about a perspective of the corpus as a whole ("What is the op-ed about?"): the
    answer is its text."""
    if about_named:
        return False
    similarity = evidence.similarity
    return bool(evidence.absent_speakers or evidence.only_unknown or evidence.missing_kind) or similarity < low \
        or (bool(evidence.unknown) and similarity < high)


def evidence_strength(query: str, hits: list[Hit], vocabulary, same_language_offset: float) -> Evidence:
    """The `Evidence` for `query` and its (non-empty) hits."""
    # The best evidence among the hits, not the first hit's: the fused order mixes in BM25,
    # and abstaining must not depend on how the rankings were fused.
    best = max(hits, key=lambda hit: hit.similarity)
    same_language = detect_language(best.chunk.text) == detect_language(query)
    offset = same_language_offset if same_language else 0.0
    query = query.strip()
    unknown = _unknown(query, vocabulary, not same_language)
    names = [_name(m) for m in unknown]
    lacked = {term for name in names for term in analyse(name)}
    only_unknown = bool(names) and set(analyse(query)) <= lacked
    return Evidence(best.similarity - offset, names, _speakers(query, unknown), only_unknown, missing_kind(query, hits))
