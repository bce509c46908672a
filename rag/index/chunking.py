"""Section-aware chunking: sections -> chunks under a token budget.

A chunk never crosses a section boundary. A section whose text fits the budget is one
chunk; a longer one is packed from whole paragraphs, then sentences, then words,
with a small overlap between neighbours. The budget applies to what the embedder
sees (heading chain + text), so a chunk can never outgrow the embedding model's
input. Every chunk is an exact span: `chunk.text == document.text[start:end]`.

Time grows linearly with the text: each span is tokenized once, a chunk's end is found
with a few exact counts around an estimate instead of one count per unit it holds, and a
section too long to fit is split without being tokenized whole.
"""
from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from rag.index.tokens import SpanTokens, count_tokens
from rag.types import Chunk, Document

# Raised whenever the text a chunk holds changes for the same file: how documents are read
# (rag.ingest: tables by row with their column names, in 2) or cut into sentences (ordinals, in 2).
# An index built by older rules is stale and rebuilt, so no index quotes text the reader now reads otherwise.
TEXT_RULES_VERSION = 2
PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")
# A sentence ends at . ! ? or … (after any closing quotes or brackets) before white space, or at a
# blank line. Not at a Norwegian ordinal ("1. kvartal", "12. juni": a number, a full stop, a word
# in lower case), nor inside a table row, where a cell ends before " | " ("politiet? | 62 %").
SENTENCE = re.compile(r"\S.*?(?:(?:(?<!\d)\.|(?<=\d)\.(?!\s+[a-zæøå])|[!?…])[»”\"')\]]*(?=\s+(?![\s|])|$)"
                      r"|(?=\n[ \t]*\n)|$)", re.DOTALL)
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkingConfig:
    """Budget and overlap in cl100k tokens."""

    max_tokens: int = 350
    overlap_tokens: int = 50


Span = tuple[int, int]


def chunk_document(document: Document, config: ChunkingConfig = ChunkingConfig()) -> list[Chunk]:
    """All chunks of a document: section bodies first, then footnotes."""
    tokens = SpanTokens(document.text)
    spans: list[tuple[tuple[str, ...], Span, str]] = []
    for section in document.sections:
        chain_tokens = count_tokens(" > ".join(section.path) + "\n")
        budget = max(config.max_tokens - chain_tokens, 16)
        for span in _split_section(tokens, section.body_start, section.body_end, budget, config.overlap_tokens):
            spans.append((section.path, span, "body"))
    for footnote in document.footnotes:
        spans.append((footnote.section_path, (footnote.start, footnote.end), "footnote"))
    return _make_chunks(document, spans, tokens)


def _make_chunks(document: Document, spans, tokens: SpanTokens) -> list[Chunk]:
    chunks, ids = [], _ChunkIds(document.id)
    for path, (start, end), kind in spans:
        text = document.text[start:end]
        chunks.append(Chunk(ids.next(path, text), document.id, document.source, document.title, path,
                            text, start, end, tokens.count(start, end), kind))
    return chunks


class _ChunkIds:
    """Ids that depend on content, not offsets: an edit elsewhere in the document keeps them.

    Chunks with the same path and text are told apart by their occurrence number. Each
    (path, text) remembers the last number it used, so the n-th copy of a boilerplate
    chunk costs one hash, not n.
    """

    def __init__(self, doc_id: str):
        self.doc_id = doc_id
        self.seen: set[str] = set()
        self.next_occurrence: dict[tuple[tuple[str, ...], str], int] = {}

    def next(self, path: tuple[str, ...], text: str) -> str:
        occurrence = self.next_occurrence.get((path, text), 0)
        while True:
            key = "\x1f".join((self.doc_id, *path, text, str(occurrence)))
            chunk_id = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
            occurrence += 1
            if chunk_id not in self.seen:
                self.seen.add(chunk_id)
                self.next_occurrence[(path, text)] = occurrence
                return chunk_id


def _split_section(tokens: SpanTokens, start: int, end: int, budget: int, overlap: int) -> list[Span]:
    paragraphs = _pieces(PARAGRAPH, tokens.text, start, end)
    if not paragraphs:
        return []
    whole = (paragraphs[0][0], paragraphs[-1][1])
    if tokens.fits(*whole, budget):
        return [whole]
    units = [u for p in paragraphs for u in _fitting_units(tokens, p, budget)]
    return _pack(tokens, units, [tokens.count(*u) for u in units], budget, overlap)


def _pieces(pattern: re.Pattern, text: str, start: int, end: int) -> list[Span]:
    return [(m.start(), m.end()) for m in pattern.finditer(text, start, end) if m.group(0).strip()]


def _fitting_units(tokens: SpanTokens, span: Span, budget: int) -> list[Span]:
    """A paragraph as one unit if it fits, else its sentences, else its words."""
    if tokens.fits(*span, budget):
        return [span]
    units = []
    for sentence in _pieces(SENTENCE, tokens.text, *span):
        if tokens.fits(*sentence, budget):
            units.append(sentence)
        else:
            units.extend(_word_windows(tokens, sentence, budget))
    return units


def _word_windows(tokens: SpanTokens, span: Span, budget: int) -> list[Span]:
    """Last resort for a sentence longer than the budget: runs of whole words, without overlap."""
    words = _pieces(WORD, tokens.text, *span)
    estimates = [_word_tokens(tokens.text[start:end]) for start, end in words]
    return _pack(tokens, words, estimates, budget, overlap=0)


@lru_cache(maxsize=2**16)
def _word_tokens(word: str) -> int:
    # With the space that precedes it in running text, a word splits as it does inside a chunk.
    return count_tokens(" " + word)


def _pack(tokens: SpanTokens, units: list[Span], estimates: list[int], budget: int, overlap: int) -> list[Span]:
    """Greedy packing of units into chunks; a chunk starts with up to `overlap` tokens of the previous one's tail.

    `estimates` (about the tokens of each unit) only guess where a chunk ends; exact counts
    of the chunk around that guess decide it (see `_run_end`).
    """
    totals = list(accumulate(estimates, initial=0))
    chunks: list[Span] = []
    first = 0
    while first < len(units):
        guess = bisect_right(totals, totals[first] + budget) - 2  # the last unit the estimates fit in
        start = units[first][0]
        last = _run_end(lambda j, start=start: tokens.fits(start, units[j][1], budget), first, len(units), guess)
        chunks.append((start, units[last][1]))
        if last + 1 >= len(units):
            break
        first = _overlap_start(tokens, units, first, last, budget, overlap) if overlap else last + 1
    return chunks


def _run_end(fits: Callable[[int], bool], first: int, stop: int, guess: int) -> int:
    """The last unit of a chunk starting at `first`: the largest `last < stop` such that the run
    first..j fits for every j up to `last` (the unit at `first` is taken even if it alone does not).

    The run's tokens grow with j, so `fits` holds up to some j and fails after it. Counting
    every run from `first` on, as a scan does, tokenizes a chunk once per unit it holds (a
    few hundred times for a run of words); galloping out from the estimates' guess and then
    bisecting tokenizes it a few times.
    """
    low, high = first, stop  # invariant: low == first or fits(low); high == stop or not fits(high)
    probe = min(max(guess, first + 1), stop - 1)
    if probe <= first:
        return first
    step = 1
    if fits(probe):
        low = probe
        while low + step < high:
            if not fits(low + step):
                high = low + step
                break
            low, step = low + step, step * 2
    else:
        high = probe
        while high - step > low:
            if fits(high - step):
                low = high - step
                break
            high, step = high - step, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _overlap_start(tokens: SpanTokens, units: list[Span], first: int, last: int, budget: int, overlap: int) -> int:
    """Where the next chunk starts: the trailing units of this one that fit the overlap."""
    start = last + 1
    while start - 1 > first and tokens.count(units[start - 1][0], units[last][1]) <= overlap:
        start -= 1
    # The next chunk must still gain room for at least one new unit.
    while start <= last and tokens.count(units[start][0], units[last + 1][1]) > budget:
        start += 1
    return start


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
