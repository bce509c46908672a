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
from dataclasses import dataclass

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
    written. A run of capitalised words ("Housing First") stays a name."""
    question = question.strip()
    found = list(NAME_OR_NUMBER.finditer(question))
    names = [match.group(1) for match in found
             if not (other_language and is_ordinary_word(match.group(1)))]
    return [name for name in names if not any(term in vocabulary for term in analyse(name))]


def _in_run(match: re.Match, found: list[re.Match], text: str) -> bool:
    """True when another capitalised word stands right before or after `match`."""
    def adjacent(a: re.Match, b: re.Match) -> bool:
        return not text[a.end():b.start()].strip() and not b.group(1).isdigit() and not a.group(1).isdigit()
    return any(adjacent(other, match) or adjacent(match, other) for other in found if other is not match)


def should_abstain(similarity: float, unknown: list[str], low: float, high: float) -> bool:
    """Abstain below `low`, or below `high` when the question names something the corpus lacks."""
    return similarity < low or (bool(unknown) and similarity < high)


@dataclass(frozen=True)
class Evidence:
    """What the abstention rule weighs: the best cosine (less the same-language offset) and the
    question's names and numbers the corpus lacks."""

    similarity: float
    unknown: list[str]


def evidence_strength(query: str, hits: list[Hit], vocabulary, same_language_offset: float) -> Evidence:
    """The `Evidence` for `query` and its (non-empty) hits."""
    # The best evidence among the hits, not the first hit's: the fused order mixes in BM25,
    # and abstaining must not depend on how the rankings were fused.
    best = max(hits, key=lambda hit: hit.similarity)
    same_language = detect_language(best.chunk.text) == detect_language(query)
    offset = same_language_offset if same_language else 0.0
    return Evidence(best.similarity - offset, unknown_names(query, vocabulary, other_language=not same_language))
