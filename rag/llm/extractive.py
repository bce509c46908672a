"""The offline default backend: an answer composed of the sources' own best sentences.

No language model: the passages of the top sources that best answer the question
(scored with the embedding model, so an English question selects Norwegian text)
are quoted verbatim, without overlaps, grouped by source, every sentence followed by
its citation, after one lead sentence in the question's language. Deterministic and fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from rag.citations import chunk_sentences
from rag.index import vector_id
from rag.llm.base import BackendContext, Prompt, Source

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


@dataclass(frozen=True)
class Candidate:
    """A passage of a source (a sentence window), with its similarity to the question."""

    source: Source
    start: int
    end: int
    score: float


class ExtractiveBackend:
    """Selects and quotes passages; `stream` yields the lead, then one paragraph per source.

    Candidates are the sentence windows the index already embedded, so answering costs
    one query embedding; without windows, the sources' sentences are embedded on the fly.
    """

    name = "extractive"
    context_window = 1_000_000

    def __init__(self, embedder, index=None):
        self.embedder = embedder
        self.index = index

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
            if _room_for(candidate, picks) and not _overlaps(candidate, picks):
                picks.append(candidate)
        return picks

    def _candidates(self, question: str, sources: list[Source]) -> list[Candidate]:
        query = self.embedder.encode_queries([question])[0]
        if self.index is not None and len(self.index.windows.rows):
            return [c for source in sources for c in self._window_candidates(source, query)]
        return self._sentence_candidates(sources, query)

    def _window_candidates(self, source: Source, query) -> list[Candidate]:
        windows = self.index.windows
        row = self.index.row_of_vector.get(vector_id(source.chunk.id))
        if row is None:
            return []
        span = windows.of_chunk(row)
        scores = windows.vectors[span] @ query
        prior = RANK_PRIOR * (source.n - 1)
        return [Candidate(source, int(s), int(e), float(score) - prior)
                for (s, e), score in zip(windows.spans[span], scores)]

    def _sentence_candidates(self, sources: list[Source], query) -> list[Candidate]:
        spans = [(source, s, e) for source in sources for s, e in chunk_sentences(source.chunk.text, source.chunk.start)]
        texts = [_text(source, s, e) for source, s, e in spans]
        scores = self.embedder.encode_passages(texts, progress=False) @ query if texts else []
        return [Candidate(source, s, e, float(score) - RANK_PRIOR * (source.n - 1))
                for (source, s, e), score in zip(spans, scores)]


def _text(source: Source, start: int, end: int) -> str:
    chunk = source.chunk
    return chunk.text[start - chunk.start:end - chunk.start]


def _sentences(source: Source, start: int, end: int) -> list[str]:
    """The sentences of a picked passage that are long enough to stand as a claim."""
    text = _text(source, start, end)
    found = [text[s:e].strip() for s, e in chunk_sentences(text, 0)]
    return [s for s in found if len(s.split()) >= MIN_WORDS] or [text.strip()]


def _room_for(candidate: Candidate, picks: list[Candidate]) -> bool:
    return sum(p.source == candidate.source for p in picks) < MAX_PER_SOURCE


def _overlaps(candidate: Candidate, picks: list[Candidate]) -> bool:
    return any(p.source.chunk.doc_id == candidate.source.chunk.doc_id
               and p.start < candidate.end and candidate.start < p.end for p in picks)


def create(context: BackendContext) -> ExtractiveBackend:
    """Entry-point factory."""
    return ExtractiveBackend(context.embedder, context.index)
