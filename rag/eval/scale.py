"""The scaling benchmark's data and measurements (`scripts/bench_scale.py`, `make bench-scale`).

Corpus vectors: real e5 embeddings of the NorQuAD corpus (every chunk and every two-sentence
window of it, as the index embeds them), padded for larger sizes with synthetic vectors drawn
around them (see `corpus`). Queries: real e5 embeddings of NorQuAD test questions. Everything
is cached under `<cache_dir>/bench-scale`. A Milvus server is benchmarked too when
RAG_BENCH_MILVUS_URI names one (its collections are dropped after each case).
"""
from __future__ import annotations

import os
import resource
import statistics
import time
from pathlib import Path

import faiss
import numpy as np

from rag.embedding.embedder import Embedder
from rag.eval.suites import load_suite
from rag.index.chunking import chunk_document
from rag.index.store import VectorStore
from rag.index.windows import window_spans, window_texts
from rag.settings import Settings

ENGINES = ("faiss-flat", "faiss-ivf", "faiss-hnsw", "milvus-lite-ivf", "milvus-server-ivf")
SERVER_URI_VARIABLE = "RAG_BENCH_MILVUS_URI"
# Values of each approximate FAISS index's search-time knob tried on the same build.
SWEEPS = {"faiss-ivf": (16, 32, 64, 256, 512), "faiss-hnsw": (64, 128, 256, 1024)}
K = 10
QUERIES = 200
SYNTHETIC_SEED = 20261
SYNTHETIC_SPREAD = 0.5


def cache_folder(settings: Settings) -> Path:
    """Where embeddings, ground truth and Milvus Lite files of the benchmark are kept."""
    folder = Path(settings.cache_dir) / "bench-scale"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def real_vectors(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(passages, queries): e5 vectors of NorQuAD chunks + windows, and of its test questions (cached)."""
    path = cache_folder(settings) / "norquad-e5.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["passages"], data["queries"]
    suite = load_suite("norquad")
    chunks = [c for d in suite.documents for c in chunk_document(d)]
    rows, spans = window_spans(chunks)
    texts = [c.embedding_text() for c in chunks] + window_texts(chunks, rows, spans)
    embedder = Embedder(settings)
    passages = embedder.encode_passages(texts, progress=True)
    queries = embedder.encode_queries([q.text for q in suite.queries[:QUERIES]])
    np.savez(path, passages=passages, queries=queries)
    return passages, queries


def corpus(real: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """`size` unit vectors: the real ones first, then synthetic ones like them; and how many are real.

    A synthetic vector is a real one plus Gaussian noise shaped by the real vectors' covariance
    (at half their spread), normalised: a paraphrase-like neighbour, so the corpus keeps the
    topical clusters of real text. Independent draws from that Gaussian would be structureless
    (every point nearly as far as any other), which no real corpus is.
    """
    if size <= len(real):
        return real[:size].copy(), size
    # Eigen-decomposition rather than Cholesky: the covariance of 384-d e5 vectors is near-singular.
    values, basis = np.linalg.eigh(np.cov(real, rowvar=False))
    transform = basis * np.sqrt(np.clip(values, 0, None)) * SYNTHETIC_SPREAD
    random = np.random.default_rng(SYNTHETIC_SEED)
    vectors = np.empty((size, real.shape[1]), dtype=np.float32)
    vectors[: len(real)] = real
    for start in range(len(real), size, 100_000):
        stop = min(start + 100_000, size)
        parents = real[random.integers(0, len(real), stop - start)]
        drawn = parents + random.standard_normal((stop - start, real.shape[1])) @ transform.T
        vectors[start:stop] = drawn / np.linalg.norm(drawn, axis=1, keepdims=True)
    return vectors, len(real)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Row numbers of the exact top-k by inner product (the recall reference)."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index.search(queries, k)[1]


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_store(engine: str, dim: int, folder: Path) -> VectorStore:
    """An empty store of the benchmarked engine (the product's own store classes)."""
    from rag.index.store.faiss_store import FaissStore

    if engine.startswith("faiss-"):
        return FaissStore(dim, engine.removeprefix("faiss-"))
    from rag.index.store.milvus import MilvusConfig, MilvusStore

    kind = engine.rsplit("-", 1)[1]
    if engine.startswith("milvus-lite-"):
        return MilvusStore.create(MilvusConfig(str(folder / "milvus.db"), timeout=60), dim, kind, "bench")
    if not os.environ.get(SERVER_URI_VARIABLE):
        raise RuntimeError(f"{engine} needs a Milvus server: set {SERVER_URI_VARIABLE}=http://host:19530")
    return MilvusStore.create(MilvusConfig(os.environ[SERVER_URI_VARIABLE], "rag_bench", timeout=60), dim, kind, "bench")


def available_engines() -> tuple[str, ...]:
    """The engines this machine can run: Milvus server ones only when a server is named."""
    return tuple(e for e in ENGINES if not e.startswith("milvus-server-") or os.environ.get(SERVER_URI_VARIABLE))


def build(store: VectorStore, vectors: np.ndarray, ids: np.ndarray, warmup: np.ndarray) -> float:
    """Seconds to add all vectors and have a searchable index (the first search builds lazy indexes)."""
    started = time.perf_counter()
    for start in range(0, len(ids), 100_000):
        store.add(ids[start:start + 100_000], vectors[start:start + 100_000])
    if hasattr(store, "client"):
        store.client.flush(store.collection)
        _wait_for_index(store)
    store.search(warmup[None, :], K)
    return time.perf_counter() - started


def _wait_for_index(store, poll_s: float = 1.0) -> None:
    """Until Milvus has indexed every flushed row (a server builds indexes in the background)."""
    while True:
        state = store.client.describe_index(store.collection, "vector")
        if state.get("pending_index_rows", 0) == 0 and state.get("indexed_rows", 0) >= state.get("total_rows", 0):
            return
        time.sleep(poll_s)


def measure(store: VectorStore, queries: np.ndarray, truth: np.ndarray) -> dict:
    """Per-query latency (one query at a time, k=10) and recall@10 against `truth` (vector ids)."""
    latencies, recalls = [], []
    for query, expected in zip(queries, truth):
        started = time.perf_counter()
        _, found = store.search(query[None, :], K)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len(set(found[0].tolist()) & set(expected.tolist())) / K)
    latencies.sort()
    return {"p50_ms": statistics.median(latencies), "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
            "recall_at_10": float(np.mean(recalls)), "queries": len(queries)}


def run_case(settings: Settings, engine: str, size: int) -> dict:
    """Build one engine over `size` vectors and measure it; figures as a dict."""
    real, queries = real_vectors(settings)
    vectors, real_count = corpus(real, size)
    truth_path = cache_folder(settings) / f"exact-{size}.npy"
    if not truth_path.is_file():
        np.save(truth_path, exact_top(vectors, queries))
    ids = np.arange(1, size + 1, dtype=np.int64)  # ids are row + 1: Milvus rejects nothing, FAISS uses -1 for none
    truth = np.load(truth_path) + 1
    folder = cache_folder(settings) / f"{engine}-{size}"
    folder.mkdir(exist_ok=True)
    baseline = rss_mb()
    store = new_store(engine, vectors.shape[1], folder)
    seconds = build(store, vectors, ids, queries[0])
    # One query at a time, one thread each: on a busy 2-core machine FAISS's second OpenMP
    # thread waits for a core and turns a 0.3 ms search into 30 ms. A server answers
    # concurrent users with concurrent single-threaded searches.
    faiss.omp_set_num_threads(1)
    figures = measure(store, queries, truth)
    if engine in SWEEPS:
        figures["sweep"] = _sweep(store, engine, queries, truth)
    if engine.startswith("milvus-server-"):  # a shared server keeps nothing of the benchmark
        store.client.drop_collection(store.collection)
    return {"engine": engine, "size": size, "index": index_parameters(store, engine),
            "real_vectors": real_count, "build_s": seconds,
            "vectors_per_s": size / seconds, "memory_mb": rss_mb() - baseline, "peak_rss_mb": peak_rss_mb(),
            "threads": os.cpu_count(), **figures}


def index_parameters(store, engine: str) -> str:
    """The index as built, in its own library's words (e.g. "nlist 4000, nprobe 128")."""
    if engine == "faiss-flat":
        return "exact"
    if engine.startswith("milvus-"):
        from rag.index.store.milvus import DEFAULT_BUILD_PARAMS, DEFAULT_SEARCH_PARAMS

        params = {**DEFAULT_BUILD_PARAMS[store.index_type], **DEFAULT_SEARCH_PARAMS[store.index_type]}
        described = f"{store.index_type} " + ", ".join(f"{name} {value}" for name, value in params.items())
        if engine.startswith("milvus-server-"):
            described += f" (Milvus {store.client.get_server_version()})"
        return described
    knob, _ = _knob(store, engine)
    if engine == "faiss-ivf":
        return f"nlist {knob.nlist}, nprobe {knob.nprobe}"
    return f"M {knob.nb_neighbors(1)}, efConstruction {knob.efConstruction}, efSearch {knob.efSearch}"


def _sweep(store, engine: str, queries: np.ndarray, truth: np.ndarray) -> dict:
    """p95 and recall of the same index at other values of its search-time knob."""
    knob, attribute = _knob(store, engine)
    default, sweep = getattr(knob, attribute), {}
    for value in SWEEPS[engine]:
        setattr(knob, attribute, value)
        figures = measure(store, queries, truth)
        sweep[value] = {"p95_ms": figures["p95_ms"], "recall_at_10": figures["recall_at_10"]}
    setattr(knob, attribute, default)
    return {"parameter": attribute, "default": default, "values": sweep}


def _knob(store, engine: str) -> tuple[object, str]:
    """The object and attribute holding an approximate index's search-time knob."""
    if engine == "faiss-ivf":
        return faiss.extract_index_ivf(store.index), "nprobe"
    return faiss.downcast_index(store.index.index).hnsw, "efSearch"
