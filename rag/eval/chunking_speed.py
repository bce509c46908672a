"""Chunking throughput on a large document built from the seed prose (`make bench`).

The document is one section of real paragraphs repeated up to the wanted size, so the
figure measures the chunker alone, not the ingest. `TEXT_KINDS` are the shapes of text
that take different paths through the chunker; the linearity test chunks each of them.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable

from rag.index.chunking import ChunkingConfig, chunk_document
from rag.ingest import load_corpus
from rag.settings import Settings
from rag.types import Document, Section


def _paragraphs(documents: list[Document]) -> list[str]:
    bodies = (d.text[s.body_start:s.body_end] for d in documents for s in d.sections)
    return [p.strip() for body in bodies for p in re.split(r"\n\s*\n", body) if p.strip()]


def _repeated(pieces: list[str], size: int, separator: str) -> str:
    """`pieces` in order, over and over, joined by `separator`, cut to about `size` characters."""
    out, length = [], 0
    while length < size:
        piece = pieces[len(out) % len(pieces)]
        out.append(piece)
        length += len(piece) + len(separator)
    return separator.join(out)[:size].rstrip()


def _without_sentence_ends(paragraphs: list[str]) -> list[str]:
    return [re.sub(r"[.!?…]", ",", p) for p in paragraphs]


# Each kind takes its own path: whole paragraphs; one paragraph split into sentences;
# sentences too long for the budget, split into word runs; one boilerplate paragraph over
# and over, so that many chunks have the same text (their ids must still be unique).
TEXT_KINDS = {
    "paragraphs": lambda paragraphs, size: _repeated(paragraphs, size, "\n\n"),
    "one paragraph": lambda paragraphs, size: _repeated(paragraphs, size, " "),
    "no sentence ends": lambda paragraphs, size: _repeated(_without_sentence_ends(paragraphs), size, " "),
    "boilerplate": lambda paragraphs, size: _repeated(paragraphs[:1], size, "\n\n"),
}


def large_document(documents: list[Document], size: int, kind: str = "paragraphs") -> Document:
    """About `size` characters of the documents' prose, shaped as `kind`, in one section."""
    text = TEXT_KINDS[kind](_paragraphs(documents), size)
    section = Section(("Large document",), 0, len(text), 0, len(text))
    return Document("large", "Large document", "large.txt", text, [section])


def chunking_seconds(document: Document, config: ChunkingConfig = ChunkingConfig(), repeats: int = 1,
                     clock: Callable[[], float] = time.perf_counter) -> float:
    """Best time of `repeats` runs of `chunk_document` (the best is the least disturbed run).

    `time.process_time` as the clock counts only this process's work, which a test on a
    machine busy with other jobs needs; the benchmark reports wall time.
    """
    chunk_document(Document("warm-up", "", "", "x", [Section(("x",), 0, 1, 0, 1)]), config)  # loads the encoding
    times = []
    for _ in range(repeats):
        started = clock()
        chunk_document(document, config)
        times.append(clock() - started)
    return min(times)


def chunking_throughput(settings: Settings, size: int = 5_000_000) -> dict:
    """Wall seconds to chunk `size` characters of the corpus's prose in one section, and MB/s."""
    document = large_document(load_corpus(settings.corpus_dir).documents, size)
    megabytes = len(document.text.encode("utf-8")) / 1e6
    seconds = chunking_seconds(document, ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens))
    return {"chunking_mb": round(megabytes, 1), "chunking_s": round(seconds, 2),
            "chunking_mb_per_s": round(megabytes / seconds, 2)}
