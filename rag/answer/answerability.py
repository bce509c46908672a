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

import re
from dataclasses import dataclass, field

from rag.answer.followup import SAY_ABOUT
from rag.answer.ordinary_words import is_ordinary_word
from rag.index.lexical import analyse
from rag.language import detect_language
from rag.types import Hit

# Capitalised words not at the start of a sentence, and numbers of 3+ digits.
NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.?!:]\s)\b([A-ZÆØÅ][\wæøåÆØÅ-]{2,}|\d{3,})")


def unknown_names(question: str, vocabulary, other_language: bool = False) -> list[str]:
    """Names and numbers in the question that occur nowhere in the indexed text.

    In a question in another language than the corpus (`other_language`), an ordinary word
    written with a capital ("the Police") is no name: it could not occur in the corpus as
    written."""
    return [match.group(1) for match in _unknown(question, vocabulary, other_language)]


def absent_speakers(question: str, vocabulary, other_language: bool = False) -> list[str]:
    """Names the corpus lacks in who the question asks about: "What did Jens Stoltenberg say about
    the police?" was answered with the police's words, as if they were his."""
    question = question.strip()
    return _speakers(question, _unknown(question, vocabulary, other_language))


def _unknown(question: str, vocabulary, other_language: bool) -> list[re.Match]:
    """The matches of `unknown_names`, with where they stand."""
    matches = NAME_OR_NUMBER.finditer(question)
    matches = [m for m in matches if not (other_language and is_ordinary_word(m.group(1)))]
    return [m for m in matches if not any(term in vocabulary for term in analyse(m.group(1)))]


def _speakers(question: str, unknown: list[re.Match]) -> list[str]:
    """Those of the `unknown` matches in the subject of "what did X say about ...", if it asks that."""
    said = next(filter(None, (pattern.match(question) for pattern in SAY_ABOUT)), None)
    if not said:
        return []
    start, end = said.span("subject")
    return [m.group(1) for m in unknown if start <= m.start() and m.end() <= end]


def should_abstain(similarity: float, unknown: list[str], low: float, high: float,
                   absent_speaker: bool = False, about_named: bool = False) -> bool:
    """Abstain below `low`, or below `high` when the question names something the corpus lacks,
    or whenever it asks what someone the corpus never names said; never when it asks about a
    perspective of the corpus as a whole ("What is the op-ed about?"): the answer is its text."""
    if about_named:
        return False
    return absent_speaker or similarity < low or (bool(unknown) and similarity < high)


@dataclass(frozen=True)
class Evidence:
    """What the abstention rule weighs: the best cosine (less the same-language offset), the
    question's names and numbers the corpus lacks, and those among who it asks about."""

    similarity: float
    unknown: list[str]
    absent_speakers: list[str] = field(default_factory=list)


def evidence_strength(query: str, hits: list[Hit], vocabulary, same_language_offset: float) -> Evidence:
    """The `Evidence` for `query` and its (non-empty) hits."""
    # The best evidence among the hits, not the first hit's: the fused order mixes in BM25,
    # and abstaining must not depend on how the rankings were fused.
    best = max(hits, key=lambda hit: hit.similarity)
    same_language = detect_language(best.chunk.text) == detect_language(query)
    offset = same_language_offset if same_language else 0.0
    query = query.strip()
    unknown = _unknown(query, vocabulary, not same_language)
    return Evidence(best.similarity - offset, [m.group(1) for m in unknown], _speakers(query, unknown))
