"""Section-aware chunking: sections -> chunks under a token budget.

A chunk never crosses a section boundary. A section whose text fits the budget is one
chunk; a longer one is packed from whole paragraphs, then sentences, then words,
with a small overlap between neighbours. The budget applies to what the embedder
sees (heading chain + text), so a chunk can never outgrow the embedding model's
input. Every chunk is an exact span: `chunk.text == document.text[start:end]`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from rag.index.tokens import count_tokens
from rag.types import Chunk, Document

PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")
# A sentence ends at end punctuation (with closing quotes), at a paragraph break, or at the end.
SENTENCE = re.compile(r"\S.*?(?:[.!?…][»”\"')\]]*(?=\s+|$)|(?=\n[ \t]*\n)|$)", re.DOTALL)
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkingConfig:
    """Budget and overlap in cl100k tokens."""

    max_tokens: int = 350
    overlap_tokens: int = 50


Span = tuple[int, int]


def chunk_document(document: Document, config: ChunkingConfig = ChunkingConfig()) -> list[Chunk]:
    """All chunks of a document: section bodies first, then footnotes."""
    spans: list[tuple[tuple[str, ...], Span, str]] = []
    for section in document.sections:
        chain_tokens = count_tokens(" > ".join(section.path) + "\n")
        budget = max(config.max_tokens - chain_tokens, 16)
        for span in _split_section(document.text, section.body_start, section.body_end, budget, config):
            spans.append((section.path, span, "body"))
    for footnote in document.footnotes:
        spans.append((footnote.section_path, (footnote.start, footnote.end), "footnote"))
    return _make_chunks(document, spans)


def _make_chunks(document: Document, spans) -> list[Chunk]:
    chunks, seen = [], set()
    for path, (start, end), kind in spans:
        text = document.text[start:end]
        chunk_id = _stable_id(document.id, path, text, seen)
        chunks.append(Chunk(chunk_id, document.id, document.source, document.title, path,
                            text, start, end, count_tokens(text), kind))
    return chunks


def _stable_id(doc_id: str, path: tuple[str, ...], text: str, seen: set[str]) -> str:
    """Depends on content, not offsets: an edit elsewhere in the document keeps the id."""
    occurrence = 0
    while True:
        key = "\x1f".join((doc_id, *path, text, str(occurrence)))
        chunk_id = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
        if chunk_id not in seen:
            seen.add(chunk_id)
            return chunk_id
        occurrence += 1


def _split_section(text: str, start: int, end: int, budget: int, config: ChunkingConfig) -> list[Span]:
    paragraphs = _pieces(PARAGRAPH, text, start, end)
    if not paragraphs:
        return []
    whole = (paragraphs[0][0], paragraphs[-1][1])
    if count_tokens(text[whole[0]:whole[1]]) <= budget:
        return [whole]
    units = [u for p in paragraphs for u in _fitting_units(text, p, budget)]
    return _pack(text, units, budget, config.overlap_tokens)


def _pieces(pattern: re.Pattern, text: str, start: int, end: int) -> list[Span]:
    return [(m.start(), m.end()) for m in pattern.finditer(text, start, end) if m.group(0).strip()]


def _fitting_units(text: str, span: Span, budget: int) -> list[Span]:
    """A paragraph as one unit if it fits, else its sentences, else its words."""
    if count_tokens(text[span[0]:span[1]]) <= budget:
        return [span]
    units = []
    for sentence in _pieces(SENTENCE, text, *span):
        if count_tokens(text[sentence[0]:sentence[1]]) <= budget:
            units.append(sentence)
        else:
            units.extend(_word_windows(text, sentence, budget))
    return units


def _word_windows(text: str, span: Span, budget: int) -> list[Span]:
    """Last resort for a sentence longer than the budget: runs of whole words."""
    windows, current = [], None
    for word in _pieces(WORD, text, *span):
        candidate = (current[0], word[1]) if current else word
        if current and count_tokens(text[candidate[0]:candidate[1]]) > budget:
            windows.append(current)
            candidate = word
        current = candidate
    return windows + ([current] if current else [])


def _pack(text: str, units: list[Span], budget: int, overlap: int) -> list[Span]:
    """Greedy packing of units into chunks; a chunk starts with the previous one's tail."""
    chunks: list[Span] = []
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and _tokens(text, units[first][0], units[last + 1][1]) <= budget:
            last += 1
        chunks.append((units[first][0], units[last][1]))
        if last + 1 >= len(units):
            break
        first = _overlap_start(text, units, first, last, budget, overlap)
    return chunks


def _overlap_start(text: str, units: list[Span], first: int, last: int, budget: int, overlap: int) -> int:
    """Where the next chunk starts: the trailing units of this one that fit the overlap."""
    start = last + 1
    while start - 1 > first and _tokens(text, units[start - 1][0], units[last][1]) <= overlap:
        start -= 1
    # The next chunk must still gain room for at least one new unit.
    while start <= last and _tokens(text, units[start][0], units[last + 1][1]) > budget:
        start += 1
    return start


def _tokens(text: str, start: int, end: int) -> int:
    return count_tokens(text[start:end])


def sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """Spans of the sentences of `text`, shifted by `offset` (a chunk's start gives document spans)."""
    return [(offset + m.start(), offset + m.end()) for m in SENTENCE.finditer(text) if m.group(0).strip()]


def sentence_windows(chunk: Chunk, size: int = 2) -> list[Span]:
    """Document spans of `size` consecutive sentences (stride 1) inside a chunk.

    A small model embeds a short window more sharply than a 300-token chunk; retrieval
    scores a chunk by its own vector plus its best window (see rag.retrieval.search).
    """
    sentences = sentence_spans(chunk.text, chunk.start)
    if len(sentences) <= size:
        return [(chunk.start, chunk.end)]
    return [(sentences[i][0], sentences[i + size - 1][1]) for i in range(len(sentences) - size + 1)]
