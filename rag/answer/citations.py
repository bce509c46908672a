"""Parse `[n]` markers in an answer, drop invalid ones, and resolve each to an exact quote.

A citation is not a document name but the sentence of the cited chunk that best
supports the claim carrying the marker, with offsets so that
`quote == document.text[start:end]`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from rag.index.chunking import sentence_spans
from rag.index.lexical import analyse
from rag.types import Citation, Source

MARKER = re.compile(r"\s?\[(\d+(?:\s*[-–,]\s*\d+)*)\]")
ANSWER_SENTENCE = re.compile(r"[^\n]+?(?:[.!?…:][»”\"')]*(?:\s*\[[\d,\s\-–]+\])*(?=\s|$)|$)")
MAX_RANGE = 20
# A marker whose best sentence in the cited chunk is less similar than this to the claim
# resolves to no quote. Below every supported labelled case (the lowest scored 0.845), so it
# drops only citations that point at nothing like the claim; the support check
# (`support_similarity`) then judges the claims that did resolve.
MIN_CITATION_SIMILARITY = 0.80

# Scores candidate sentences against a claim: (claim, sentences) -> similarities.
SentenceScorer = Callable[[str, Sequence[str]], np.ndarray]


@dataclass
class Resolved:
    """The answer with invalid markers removed, its citations, and its uncited claims."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    uncited_sentences: list[str] = field(default_factory=list)
    dropped_markers: list[int] = field(default_factory=list)
    # Every claim with the markers it carries and the citations they resolved to (none: too
    # far from anything the cited chunk says).
    claims: list[tuple[str, tuple[int, ...], list[Citation]]] = field(default_factory=list)


def marker_numbers(inner: str) -> list[int]:
    """'1, 3-5' -> [1, 3, 4, 5]; ranges longer than MAX_RANGE are ignored."""
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", inner.strip()):
        bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part) if x]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= MAX_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        elif len(bounds) == 1:
            numbers.append(bounds[0])
    return numbers


def strip_invalid_markers(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """Rewrite markers to their valid numbers only; remove markers with none."""
    dropped: list[int] = []

    def rewrite(match: re.Match) -> str:
        numbers = marker_numbers(match.group(1))
        dropped.extend(n for n in numbers if n not in valid)
        kept = sorted({n for n in numbers if n in valid})
        return (" " if match.group(0).startswith(" ") else "") + "".join(f"[{n}]" for n in kept) if kept else ""

    return MARKER.sub(rewrite, text), dropped


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, each keeping the markers that follow it."""
    return [m.group(0).strip() for m in ANSWER_SENTENCE.finditer(text) if m.group(0).strip()]


def resolve(text: str, sources: list[Source], documents: dict, scorer: SentenceScorer,
            min_similarity: float | None = None) -> Resolved:
    """Clean the markers of `text` and resolve every remaining one to a quote.

    With `min_similarity`, a marker whose best sentence in the cited chunk is less similar
    than that to the claim resolves to nothing (the claim keeps the marker, without a quote)."""
    by_number = {s.n: s for s in sources}
    cleaned, dropped = strip_invalid_markers(text, set(by_number))
    resolved = Resolved(cleaned, dropped_markers=sorted(set(dropped)))
    seen: set[tuple[int, int, int]] = set()
    for sentence in answer_sentences(cleaned):
        numbers = [n for m in MARKER.finditer(sentence) for n in marker_numbers(m.group(1))]
        claim = MARKER.sub("", sentence).strip()
        if not numbers:
            if _is_claim(claim):
                resolved.uncited_sentences.append(claim)
                resolved.claims.append((claim, (), []))
            continue
        found = []
        for n in dict.fromkeys(numbers):
            citation = quote_for(claim, by_number[n], documents[by_number[n].chunk.doc_id].text, scorer, min_similarity)
            if citation is None:
                continue
            found.append(citation)
            if (citation.n, citation.start, citation.end) not in seen:
                seen.add((citation.n, citation.start, citation.end))
                resolved.citations.append(citation)
        resolved.claims.append((claim, tuple(dict.fromkeys(numbers)), found))
    return resolved


def _is_claim(sentence: str) -> bool:
    """Framing such as a lead-in ending in ':' or a bare heading is not a claim to cite."""
    return len(sentence.split()) >= 4 and not sentence.endswith(":")


def quote_for(claim: str, source: Source, document_text: str, scorer: SentenceScorer,
              min_similarity: float | None = None) -> Citation | None:
    """The citation of `source` for `claim`: a verbatim claim, else the best-supporting sentence
    (None when even that one is less similar than `min_similarity`)."""
    chunk = source.chunk
    span = _verbatim_span(claim, chunk.text, chunk.start)
    if span is None:
        spans = sentence_spans(chunk.text, chunk.start) or [(chunk.start, chunk.end)]
        texts = [document_text[s:e] for s, e in spans]
        similarities = scorer(claim, texts)
        best = int(np.argmax(similarities + 0.2 * _term_overlap(claim, texts)))
        if min_similarity is not None and similarities[best] < min_similarity:
            return None
        span = spans[best]
    start, end = span
    return Citation(source.n, chunk.id, chunk.doc_id, chunk.title, chunk.section_path,
                    document_text[start:end], start, end)


def _verbatim_span(claim: str, chunk_text: str, offset: int) -> tuple[int, int] | None:
    """Where the claim (minus surrounding quote marks) occurs word for word in the chunk."""
    needle = claim.strip().strip("«»\"“”").strip()
    position = chunk_text.find(needle) if len(needle) >= 12 else -1
    return (offset + position, offset + position + len(needle)) if position >= 0 else None


def _term_overlap(claim: str, texts: Sequence[str]) -> np.ndarray:
    """Share of the claim's stemmed terms found in each text (ties the embedding's blur)."""
    terms = set(analyse(claim))
    if not terms:
        return np.zeros(len(texts))
    return np.array([len(terms & set(analyse(t))) / len(terms) for t in texts])
