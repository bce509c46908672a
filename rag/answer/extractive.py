"""The offline default backend: an answer composed of the sources' own best sentences.

No language model: the passages of the top sources that best answer the question
(scored with the embedding model, so an English question selects Norwegian text)
are quoted verbatim, without overlaps, grouped by source, every sentence followed by
its citation, after one lead sentence in the question's language. Deterministic and fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from rag.answer.backends.base import BackendContext, Prompt
from rag.index.chunking import sentence_spans
from rag.ingest.footnotes import REFERENCE
from rag.retrieval import Passage
from rag.types import Source

LEAD = {
    "en": "Here is what the sources say about this:",
    "no": "Dette sier kildene om spørsmålet:",
}
SOURCES_CONSIDERED = 5
MAX_PASSAGES = 3
MAX_PER_SOURCE = 2
# Passages scoring within this margin of the best one are included too.
SCORE_MARGIN = 0.03
# Per retrieval rank, a passage's score is lowered by this much: e5-small's similarities
# are so close (within ~0.01) that the fused retrieval order is the better tie-breaker.
RANK_PRIOR = 0.004
MIN_WORDS = 4
# A sentence that ends in a colon introduces what follows ("En av deltakerne opplever at ...:"
# before a participant's quote), and a «quote» cut in two misquotes its speaker: a passage
# takes up to this many sentences on either side to make it whole (`_whole`).
MAX_INTRODUCED = 4


@dataclass(frozen=True)
class Candidate:
    """A passage of a source (a sentence window), with its similarity to the question."""

    source: Source
    start: int
    end: int
    score: float


# Sentence-level evidence for a question: (question, sources) -> scored passages
# (a `Retriever.passages`; tests can hand in any function).
PassageFinder = Callable[[str, list[Source]], list[Passage]]


class ExtractiveBackend:
    """Selects and quotes passages; `stream` yields the lead, then one paragraph per source.

    The passages come from `find_passages` (the retriever's sentence windows of each
    source), so this backend never reaches into the index itself.
    """

    name = "extractive"
    context_window = 1_000_000

    def __init__(self, find_passages: PassageFinder):
        self.find_passages = find_passages

    def stream(self, prompt: Prompt, max_tokens: int = 0, timeout: float = 0) -> Iterator[str]:
        """The composed answer, paragraph by paragraph, every sentence followed by its [n]."""
        picks = self.select(prompt.question, prompt.sources)
        yield LEAD.get(prompt.language, LEAD["en"])
        for source in dict.fromkeys(p.source for p in picks):
            spans = sorted((p.start, p.end) for p in picks if p.source == source)
            sentences = [s for start, end in spans for s in _sentences(source, start, end)]
            yield "\n\n" + " ".join(f"{text} [{source.n}]" for text in sentences)

    def select(self, question: str, sources: list[Source]) -> list[Candidate]:
        """The best passages: the top one, then others close to it, few per source, no overlaps."""
        candidates = self._candidates(question, sources[:SOURCES_CONSIDERED])
        ranked = sorted(candidates, key=lambda c: (-c.score, c.source.n, c.start))
        if not ranked:
            return []
        floor = ranked[0].score - SCORE_MARGIN
        picks: list[Candidate] = []
        for candidate in ranked:
            if len(picks) == MAX_PASSAGES or candidate.score < floor:
                break
            candidate = _whole(candidate)
            if _room_for(candidate, picks) and not _overlaps(candidate, picks):
                picks.append(candidate)
        return picks

    def _candidates(self, question: str, sources: list[Source]) -> list[Candidate]:
        return [Candidate(p.source, p.start, p.end,
                          p.similarity - RANK_PRIOR * (p.source.n - 1) - (SCORE_MARGIN if _a_reference(p) else 0))
                for p in self.find_passages(question, sources)]


def _a_reference(passage: Passage) -> bool:
    """A footnote that cites a publication ("Helsedirektoratet, Førerkortveileder ... (2020), pkt. 14.").

    It says nothing its section's speakers said, yet e5 scores it close to many questions ("what
    measures do the user organisations propose?" put it first, as their answer). So it is quoted
    only when it beats the body text by the margin that admits a passage into the answer: when
    the question is about the publication itself ("when was the guideline published?")."""
    return passage.source.chunk.kind == "footnote" and bool(REFERENCE.search(passage.text))


def _text(source: Source, start: int, end: int) -> str:
    chunk = source.chunk
    return chunk.text[start - chunk.start:end - chunk.start]


def _sentences(source: Source, start: int, end: int) -> list[str]:
    """The sentences of a picked passage that are long enough to stand as a claim."""
    return [_text(source, s, e) for s, e in claim_spans(source, start, end)]


def claim_spans(source: Source, start: int, end: int) -> list[tuple[int, int]]:
    """Document spans of the sentences of a picked passage that are long enough to stand as a claim."""
    text = _text(source, start, end)
    found = [(start + s, start + e) for s, e in sentence_spans(text)]
    found = [_stripped(text, start, s, e) for s, e in found]
    claims = [(s, e) for s, e in found if len(text[s - start:e - start].split()) >= MIN_WORDS]
    return claims or [_stripped(text, start, start, end)]


def _whole(candidate: Candidate) -> Candidate:
    """The candidate with what it cannot stand without, within its chunk and at most
    MAX_INTRODUCED sentences away: the start of a «quote» it begins in the middle of, what a
    closing colon introduces, and the end of a «quote» it leaves open. Where the other end of a
    «quote» is out of reach, its part is left out, unless nothing else would remain. Done
    before the overlap test, so a sentence is never quoted twice."""
    source, start, end = candidate.source, candidate.start, candidate.end
    spans = [_stripped(source.chunk.text, source.chunk.start, s, e)
             for s, e in sentence_spans(source.chunk.text, source.chunk.start)]
    inside = [span for span in spans if start <= span[0] and span[1] <= end]
    before = [s for s, e in spans if e <= start][::-1][:MAX_INTRODUCED]
    after = [e for s, e in spans if s >= end][:MAX_INTRODUCED]
    if _unbalanced(_text(source, start, end)) < 0:
        start = next((s for s in before if _unbalanced(_text(source, s, end)) >= 0), start)
    while _unbalanced(_text(source, start, end)) < 0 and len(inside) > 1:  # the tail of a «quote» begun earlier
        start = inside.pop(0)[1]
    if _text(source, start, end).endswith(":") and after:
        end = after.pop(0)
    if _unbalanced(_text(source, start, end)) > 0:
        end = next((e for e in after if _unbalanced(_text(source, start, e)) <= 0), end)
    while _unbalanced(_text(source, start, end)) > 0 and len(inside) > 1:  # a «quote» that does not end in reach
        inside.pop()
        end = inside[-1][1]
    return Candidate(source, *_stripped(source.chunk.text, source.chunk.start, start, end), candidate.score)


def _unbalanced(text: str) -> int:
    """-1 when the text closes a «quote» it did not open, else the «quotes» left open."""
    depth = 0
    for char in text:
        depth += (char == "«") - (char == "»")
        if depth < 0:
            return -1
    return depth


def _stripped(text: str, offset: int, start: int, end: int) -> tuple[int, int]:
    """(start, end) without the white space at either end of the span."""
    piece = text[start - offset:end - offset]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, end - (len(piece) - len(piece.rstrip()))


def _room_for(candidate: Candidate, picks: list[Candidate]) -> bool:
    return sum(p.source == candidate.source for p in picks) < MAX_PER_SOURCE


def _overlaps(candidate: Candidate, picks: list[Candidate]) -> bool:
    return any(p.source.chunk.doc_id == candidate.source.chunk.doc_id
               and p.start < candidate.end and candidate.start < p.end for p in picks)


def create(context: BackendContext) -> ExtractiveBackend:
    """Entry-point factory."""
    return ExtractiveBackend(context.retriever.passages)
