"""Retrieval metrics (Recall@k, MRR@10, nDCG@10, latency) over evaluation suites.

Each suite gets its own index in the cache folder (`<cache_dir>/eval/<suite>`), never
the app's `index/`; it is updated incrementally, so a second run embeds nothing.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from rag.embedding import AnyEmbedder, make_embedder
from rag.errors import SettingsError
from rag.eval.suites import Query, Suite, is_relevant, load_suite
from rag.index import Index, ensure_index
from rag.retrieval import RetrievalConfig, Retriever
from rag.settings import Settings

CUTOFFS = (1, 5, 10)
K = 10
# The retrieval variants `make bench` compares; "hybrid" is the product default.
VARIANTS = {
    "dense": RetrievalConfig(method="dense"),
    "windows": RetrievalConfig(method="windows"),
    "lexical": RetrievalConfig(method="lexical"),
    "hybrid": RetrievalConfig(),
    "hybrid-rrf": RetrievalConfig(fusion="rrf"),
}


def suite_index(suite: Suite, settings: Settings, embedder: AnyEmbedder, progress=print) -> Index:
    """The suite's own index, built or updated in the cache folder."""
    index_dir = settings.cache_dir / "eval" / suite.name
    return ensure_index(replace(settings, index_dir=index_dir), embedder, progress, documents=suite.documents)


def query_metrics(relevance: list[bool], relevant_total: int) -> dict:
    """Metrics of one ranked list of K hits given which hits are relevant."""
    first = next((rank for rank, hit in enumerate(relevance, start=1) if hit), None)
    metrics = {f"recall@{c}": float(first is not None and first <= c) for c in CUTOFFS}
    metrics["mrr@10"] = 1.0 / first if first else 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, hit in enumerate(relevance[:K], start=1) if hit)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(relevant_total, K) + 1))
    metrics["ndcg@10"] = dcg / ideal if ideal else 0.0
    return metrics


def evaluate(suite: Suite, index: Index, retriever: Retriever) -> dict:
    """Mean metrics overall and per language, plus latency percentiles."""
    rows_by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(index.chunks):
        rows_by_doc.setdefault(chunk.doc_id, []).append(row)
    retriever.search(suite.queries[0].text, k=K)  # warm-up: first call pays for lazy loading
    per_query, latencies = [], []
    for query in suite.queries:
        started = time.perf_counter()
        result = retriever.search(query.text, k=K)
        latencies.append((time.perf_counter() - started) * 1000)
        relevance = [hit.chunk.doc_id == query.doc_id and is_relevant(hit.chunk, query) for hit in result.hits]
        total = sum(is_relevant(index.chunks[r], query) for r in rows_by_doc.get(query.doc_id, []))
        per_query.append((query, query_metrics(relevance, total)))
    return _summarise(per_query, latencies)


def _summarise(per_query: list[tuple[Query, dict]], latencies: list[float]) -> dict:
    report = {"queries": len(per_query), "all": _mean([m for _, m in per_query])}
    for lang in sorted({q.lang for q, _ in per_query}):
        subset = [m for q, m in per_query if q.lang == lang]
        report[lang] = {**_mean(subset), "queries": len(subset)}
    report["latency_ms"] = {"p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95))}
    report["misses"] = [q.id for q, m in per_query if not m["recall@10"]]
    return report


def _mean(metrics: list[dict]) -> dict:
    return {name: round(float(np.mean([m[name] for m in metrics])), 4) for name in metrics[0]} if metrics else {}


def run_suite(name: str, settings: Settings, methods=("hybrid",), progress=print) -> dict:
    """Evaluate one suite with each retrieval method; returns {"suite", "chunks", method: report}."""
    suite = load_suite(name)
    embedder = make_embedder(settings)
    index = suite_index(suite, settings, embedder, progress)
    report = {"suite": name, "documents": len(suite.documents), "chunks": len(index.chunks)}
    for method in methods:
        if method not in VARIANTS:
            raise SettingsError(f"unknown method {method!r}; use one of {', '.join(VARIANTS)}")
        report[method] = evaluate(suite, index, Retriever(index, embedder, VARIANTS[method]))
    return report
