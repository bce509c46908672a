"""Shared fixtures: the seed corpus as loaded documents and chunks."""
from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.ingest import load_corpus

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
OPED = "000_3c243a1dc653bf97"
REPORT = "001_c462c3b4caaabb4f"


@pytest.fixture(scope="session")
def seed_documents():
    """The two seed documents, by id."""
    loaded = load_corpus(SEEDS)
    assert not loaded.problems, loaded.problems
    return {d.id: d for d in loaded.documents}


@pytest.fixture(scope="session")
def seed_chunks(seed_documents):
    """All chunks of the seed corpus with default settings."""
    return [c for d in seed_documents.values() for c in chunk_document(d)]
