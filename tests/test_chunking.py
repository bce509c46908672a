"""Chunks are exact spans, cover the bodies, respect sections and the budget; time is linear in the text."""
from __future__ import annotations

import time

import pytest

from rag.eval.chunking_speed import TEXT_KINDS, chunking_seconds, large_document
from rag.index.chunking import ChunkingConfig, chunk_document
from rag.index.tokens import count_tokens


def test_chunk_text_is_exact_span(seed_documents, seed_chunks):
    for chunk in seed_chunks:
        assert chunk.text == seed_documents[chunk.doc_id].text[chunk.start:chunk.end]


def test_every_body_character_is_covered(seed_documents, seed_chunks):
    for document in seed_documents.values():
        covered = [False] * len(document.text)
        for chunk in (c for c in seed_chunks if c.doc_id == document.id):
            covered[chunk.start:chunk.end] = [True] * (chunk.end - chunk.start)
        headings = [False] * len(document.text)
        for section in document.sections:
            headings[section.start:section.body_start] = [True] * (section.body_start - section.start)
        missing = [i for i, ch in enumerate(document.text)
                   if not ch.isspace() and not covered[i] and not headings[i]]
        # Only the footnote numbers of the notes block are outside every chunk.
        assert "".join(document.text[i] for i in missing).isdigit() or not missing


def test_chunks_stay_inside_one_section_and_overlap_only_within_it(seed_documents, seed_chunks):
    for chunk in (c for c in seed_chunks if c.kind == "body"):
        section = next(s for s in seed_documents[chunk.doc_id].sections if s.path == chunk.section_path)
        assert section.body_start <= chunk.start and chunk.end <= section.body_end
    by_doc = sorted(seed_chunks, key=lambda c: (c.doc_id, c.start))
    for left, right in zip(by_doc, by_doc[1:]):
        if left.doc_id == right.doc_id and right.start < left.end:
            assert left.section_path == right.section_path


def test_every_chunk_is_within_budget(seed_chunks):
    for chunk in seed_chunks:
        assert count_tokens(chunk.embedding_text()) <= 350
        assert chunk.tokens == count_tokens(chunk.text)


def test_small_budget_splits_paragraphs_and_sentences(seed_documents):
    document = next(iter(seed_documents.values()))
    chunks = chunk_document(document, ChunkingConfig(max_tokens=60, overlap_tokens=10))
    assert len(chunks) > 10
    for chunk in chunks:
        assert count_tokens(chunk.embedding_text()) <= 60
        assert chunk.text == document.text[chunk.start:chunk.end]


def test_chunk_ids_are_stable_across_runs_and_edits_elsewhere(seed_documents):
    document = next(iter(seed_documents.values()))
    first = [c.id for c in chunk_document(document)]
    assert first == [c.id for c in chunk_document(document)]
    assert len(set(first)) == len(first)


def test_repeated_chunks_get_distinct_stable_ids(seed_documents):
    document = large_document(list(seed_documents.values()), 100_000, "boilerplate")
    chunks = chunk_document(document)
    ids, texts = [c.id for c in chunks], [c.text for c in chunks]
    assert len(set(texts)) < len(texts) // 10  # mostly copies of one chunk
    assert len(set(ids)) == len(ids) and ids == [c.id for c in chunk_document(document)]


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_chunking_is_linear_in_input_size(seed_documents, kind):
    # Linear work gives a ratio near 10, quadratic work near 100; 20 leaves room for a busy machine.
    documents = list(seed_documents.values())
    small = chunking_seconds(large_document(documents, 100_000, kind), repeats=3, clock=time.process_time)
    large = chunking_seconds(large_document(documents, 1_000_000, kind), repeats=2, clock=time.process_time)
    assert large / small < 20, f"{kind}: 1 MB took {large:.2f} s, 100 kB {small:.3f} s (ratio {large / small:.0f})"
