"""Vectors of freshly chunked text: each chunk, and each two-sentence window inside it.

The setting `window_vectors` chooses how a window gets its vector:

    encoded    each window encoded as a text of its own: every sentence is read twice (it
               is in two windows), two thirds of a build. The default. A hosted embedder,
               or a model that does not mean-pool, always works this way.
    sentences  every distinct sentence is encoded once, on its own; a window's vector is the
               sum of its sentences' token states (rag.embedding.token_sums), normalised.
               A NorQuAD build 1.38x faster, retrieval within 0.01, but on the seeds the
               extractive answer cites the expected passage less often (0.885 vs 0.935) and
               fewer unanswerable questions abstain (8 vs 11 of 14): for large corpora where
               build time matters more. Needs a local mean-pooling model (the bundled one is).

Pooling the windows out of their chunk's own forward pass ("late chunking") would cost
nothing extra, but measured on the seeds it lost 0.04 recall@5: a window's tokens that have
seen the whole chunk match a question less sharply. Either way the vectors are saved in
checkpoint shards as they come, so a killed build resumes.
"""
from __future__ import annotations

import hashlib

import numpy as np

from rag.embedding.checkpoint import EmbeddingCheckpoint
from rag.errors import SettingsError
from rag.index.chunking import sentence_spans
from rag.index.phases import reached
from rag.index.timings import Stopwatch
from rag.index.windows import WindowTable, window_spans, window_texts
from rag.types import Chunk

WINDOW_VECTORS = ("sentences", "encoded")


def embed_chunks(settings, embedder, chunks: list[Chunk], progress,
                 stopwatch: Stopwatch | None = None) -> tuple[np.ndarray, WindowTable]:
    """Chunk vectors (in the order of `chunks`) and their windows' table."""
    stopwatch = stopwatch or Stopwatch()
    if settings.window_vectors not in WINDOW_VECTORS:
        raise SettingsError(f"unknown window_vectors {settings.window_vectors!r}; use one of {', '.join(WINDOW_VECTORS)}")
    if settings.sentence_windows:
        rows, spans = window_spans(chunks)
    else:
        rows, spans = np.zeros(0, np.int64), np.zeros((0, 2), np.int64)
    progress(f"embedding {len(chunks)} chunks and {len(rows)} sentence windows")
    # Resumes an interrupted run; saving a shard is a step of the "encode-checkpoint" phase.
    checkpoint = EmbeddingCheckpoint(settings.index_dir, embedder.model_id, lambda: reached("encode-checkpoint"))
    with stopwatch.step("chunk encoding"):
        vectors = checkpoint.encode(embedder, [c.id for c in chunks], [c.embedding_text() for c in chunks],
                                    progress, f"embedding chunks of {len({c.doc_id for c in chunks})} documents")
    with stopwatch.step("window encoding"):
        if settings.window_vectors == "sentences" and getattr(embedder, "sums_tokens", False):
            window_vectors = _from_sentences(checkpoint, embedder, chunks, rows, spans, progress)
        else:
            keys = [f"{chunks[row].id}@{start}-{end}" for row, (start, end) in zip(rows, spans)]
            window_vectors = checkpoint.encode(embedder, keys, window_texts(chunks, rows, spans), progress,
                                               "embedding sentence windows")
    return vectors, WindowTable(rows, spans, window_vectors.reshape(len(rows), vectors.shape[1]))


def _from_sentences(checkpoint, embedder, chunks, rows, spans, progress) -> np.ndarray:
    """Window vectors as normalised sums of their sentences' token-state sums; each distinct
    sentence text is encoded once (a sentence in the overlap of two chunks, or repeated
    boilerplate, too)."""
    parts = _window_parts(chunks, rows, spans)
    texts = sorted({text for window in parts for text in window})
    keys = {text: "sentence:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] for text in texts}
    done = checkpoint.encode_with([keys[text] for text in texts], texts, embedder.encode_passage_sums, progress,
                                  "embedding sentences")
    sums = np.array([np.sum([done[keys[text]] for text in window], axis=0) for window in parts], dtype=np.float32)
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12) if len(sums) else sums


def _window_parts(chunks: list[Chunk], rows: np.ndarray, spans: np.ndarray) -> list[list[str]]:
    """The texts of the sentences inside each window (a window without one: its own text)."""
    sentences = {}
    parts = []
    for row, (start, end) in zip(rows, spans):
        chunk = chunks[row]
        if row not in sentences:
            sentences[row] = sentence_spans(chunk.text, chunk.start)
        inside = [chunk.text[a - chunk.start:b - chunk.start] for a, b in sentences[row] if a >= start and b <= end]
        parts.append(inside or [chunk.text[start - chunk.start:end - chunk.start]])
    return parts
