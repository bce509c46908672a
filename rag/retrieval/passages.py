"""Sentence-level evidence inside retrieved chunks: which passages of a source answer the question.

An answer quotes sentences, not whole chunks. The candidates are the sentence windows the
index already embedded (so scoring them costs one query embedding); an index built
without windows has its sources' sentences embedded on the fly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.embedding import AnyEmbedder
from rag.index.chunking import sentence_spans
from rag.index.loaded import Index
from rag.types import Source


@dataclass(frozen=True)
class Passage:
    """A span of a source's document (a sentence window or one sentence) and its cosine to the question."""

    source: Source
    start: int
    end: int
    similarity: float

    @property
    def text(self) -> str:
        """The passage's text (an exact span of the document)."""
        chunk = self.source.chunk
        return chunk.text[self.start - chunk.start:self.end - chunk.start]


def scored_passages(index: Index, embedder: AnyEmbedder, question: str, sources: list[Source]) -> list[Passage]:
    """Every candidate passage of `sources`, scored against `question`."""
    query = embedder.encode_queries([question])[0]
    if len(index.windows.rows):
        return [p for source in sources for p in _window_passages(index, source, query)]
    return _sentence_passages(embedder, sources, query)


def _window_passages(index: Index, source: Source, query: np.ndarray) -> list[Passage]:
    if source.row < 0:
        return []
    span = index.windows.of_chunk(source.row)
    scores = index.windows.vectors[span] @ query
    return [Passage(source, int(s), int(e), float(score)) for (s, e), score in zip(index.windows.spans[span], scores)]


def _sentence_passages(embedder: AnyEmbedder, sources: list[Source], query: np.ndarray) -> list[Passage]:
    spans = [(source, s, e) for source in sources for s, e in sentence_spans(source.chunk.text, source.chunk.start)]
    passages = [Passage(source, s, e, 0.0) for source, s, e in spans]
    if not passages:
        return []
    scores = embedder.encode_passages([p.text for p in passages], progress=False) @ query
    return [Passage(p.source, p.start, p.end, float(score)) for p, score in zip(passages, scores)]
