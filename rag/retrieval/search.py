"""Hybrid search: dense (embeddings) and lexical (BM25) rankings fused, filtered, de-duplicated.

Fusion is a weighted sum of each retriever's scores, min-max normalised per query over
its candidates (dense 1.0, BM25 0.2). Reciprocal rank fusion (RRF, w / (K + rank)) is the
alternative: it needs no normalisation, but it throws away how far apart the scores are,
and `make bench` measured it equal or worse on all three suites (see README).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from rag.cpu import single_threaded_blas
from rag.embedding import AnyEmbedder
from rag.embedding.remembered import RememberedEncoder
from rag.index.loaded import Index, check_embedding, check_query_dim
from rag.retrieval.passages import Passage, scored_passages
from rag.retrieval.perspective import (
    Mention,
    PerspectiveConfig,
    asks_about_all_of,
    named_speakers,
    promote,
    stand_as_speakers,
)
from rag.types import Chunk, Filters, Hit, Source

RRF_K = 60
# dense: chunk vectors; windows: chunk + sentence-window vectors; hybrid: windows fused with BM25.
METHODS = ("hybrid", "dense", "windows", "lexical")
# Two hits whose texts overlap by more than this share of the shorter one are duplicates.
DUPLICATE_OVERLAP = 0.5


@dataclass
class SearchResult:
    """Hits, best first, and how long each step took."""

    query: str
    hits: list[Hit]
    timings_ms: dict = field(default_factory=dict)
    speakers: list[Mention] = field(default_factory=list)  # the perspectives the query names as speakers
    # The query asks about the named perspectives as a whole ("Summarise the op-ed"): every hit is theirs.
    about_named: bool = False

    @property
    def named(self) -> Mention | None:
        """The perspective the query named first, if any."""
        return self.speakers[0] if self.speakers else None

    @property
    def perspective(self) -> str | None:
        """The label of the perspective the query named first, if any."""
        return self.named.perspective.label if self.named else None


@dataclass(frozen=True)
class RetrievalConfig:
    """Tunable knobs of the search; the defaults are what `make bench` measured best."""

    method: str = "hybrid"
    fusion: str = "weighted"       # "weighted" (min-max normalised scores) or "rrf"
    dense_weight: float = 1.0
    lexical_weight: float = 0.2
    candidates: int = 100
    perspective: PerspectiveConfig = PerspectiveConfig()


class Retriever:
    """Searches one loaded index."""

    def __init__(self, index: Index, embedder: AnyEmbedder, config: RetrievalConfig = RetrievalConfig()):
        if config.method not in METHODS:
            raise ValueError(f"unknown retrieval method {config.method!r}; use one of {', '.join(METHODS)}")
        if config.fusion not in ("rrf", "weighted"):
            raise ValueError(f"unknown fusion {config.fusion!r}; use rrf or weighted")
        check_embedding(index.manifest, embedder.model_name)
        single_threaded_blas()
        self.index = index
        self.embedder = embedder
        self.config = config
        # A question's short spans ("What did", "the police") recur from one question to the next.
        self._span_encoder = RememberedEncoder(embedder.encode_queries)

    def search(self, query: str, k: int = 10, filters: Filters = Filters()) -> SearchResult:
        """The k best chunks for `query`; those of a perspective the query names come first."""
        timings: dict[str, float] = {}
        vector = None
        if self.config.method != "lexical":
            vector = _timed(timings, "embed", lambda: self._query_vector(query))
        hits = self._ranked(query, vector, k, filters, timings)
        speakers = _timed(timings, "perspective", lambda: self._named_speakers(query, filters))
        about_named = False
        if speakers:
            per_group = [self._ranked(query, vector, k, m.perspective.filters, {}) for m in speakers]
            # Nothing else asked about: another group's words would be quoted as if they were the named one's.
            about_named = all(per_group) and asks_about_all_of(query, speakers)
            if about_named:
                hits = _without_duplicates(_take_turns(per_group), k)
            else:
                hits = _without_duplicates(_take_turns(self._promoted(hits, speakers, per_group)), k)
                if stand_as_speakers(query, speakers):
                    hits = _with_every_speaker(hits, speakers, per_group, k)
        timings["total"] = sum(timings.values())
        return SearchResult(query, hits, timings, speakers, about_named)

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector, refused when it has another dimension than the index's
        (a server that serves another model under the same name)."""
        vector = self.embedder.encode_queries([query])[0]
        source = getattr(self.embedder, "url", None) or f"the local model {self.embedder.model_name}"
        check_query_dim(self.index.manifest, len(vector), source)
        return vector

    def _ranked(self, query: str, vector: np.ndarray | None, k: int, filters: Filters, timings: dict) -> list[Hit]:
        allowed = self._allowed_rows(filters)
        rankings = {}
        if self.config.method != "lexical":
            rankings["dense"] = _timed(timings, "dense", lambda: self._dense(vector, allowed, filters))
        if self.config.method in ("hybrid", "lexical"):
            rankings["lexical"] = _timed(timings, "lexical", lambda: self._lexical(query, allowed))
        return _timed(timings, "fuse", lambda: self._fuse(rankings, k, vector))

    def _promoted(self, hits: list[Hit], speakers: list[Mention], per_group: list[list[Hit]]) -> list[list[Hit]]:
        """For each named speaker, `hits` with its own best hits moved to the front. A speaker named
        alongside others is weighed against every hit but theirs: "Hva sier politiet og helsepersonell
        om ressurser?" kept only the police's passages, each a little closer than the health personnel's."""
        margin = self.config.perspective.promote_margin
        ranked = []
        for speaker, group_hits in zip(speakers, per_group):
            others = [m.perspective for m in speakers if m is not speaker]
            rivals = [hit for hit in hits if not any(p.covers(hit.chunk) for p in others)]
            ranked.append(promote(rivals, group_hits, speaker.perspective, margin))
        return ranked

    def _named_speakers(self, query: str, filters: Filters) -> list[Mention]:
        """The perspectives the query names as speakers, unless the caller already narrowed the search."""
        if self.config.method not in ("hybrid", "windows") or filters.section_prefix:
            return []
        speakers = named_speakers(query, self.index.perspectives, self._span_encoder, self.config.perspective)
        return [m for m in speakers if not filters.doc_ids or m.perspective.doc_id in filters.doc_ids]

    def passages(self, question: str, sources: list[Source]) -> list[Passage]:
        """The sentence-level passages of `sources` (retrieved from this index), scored against `question`."""
        return scored_passages(self.index, self.embedder, question, sources)

    @property
    def _uses_windows(self) -> bool:
        return self.config.method in ("windows", "hybrid") and len(self.index.windows.rows) > 0

    def _allowed_rows(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        return np.array([filters.allows(c) for c in self.index.chunks], dtype=bool)

    def _dense(self, vector: np.ndarray, allowed: np.ndarray | None, filters: Filters) -> list[int]:
        """Chunk rows by cosine similarity of the chunk (plus its best sentence window)."""
        rows = self._dense_candidates(vector, allowed, filters)
        scores = self.index.vectors[rows] @ vector
        if self._uses_windows:
            scores = scores + self.index.windows.best(vector, rows)
        order = np.argsort(-scores, kind="stable")[: self.config.candidates]
        return rows[order], scores[order]

    def _dense_candidates(self, vector: np.ndarray, allowed: np.ndarray | None, filters: Filters) -> np.ndarray:
        """Chunks near the query by their own vector or by one of their windows."""
        if allowed is not None and not self.index.store.filters_in_engine:
            # Filtered, vectors in memory: consider every allowed chunk, so a narrow filter never runs dry.
            return np.flatnonzero(allowed)
        # Unfiltered, or the engine filters (its vectors live elsewhere): ask it for the nearest allowed chunks.
        _, ids = self.index.store.search(vector[None, :], self.config.candidates, filters or None)
        rows = [self.index.row_of_vector[int(i)] for i in ids[0] if i >= 0]
        if self._uses_windows:
            rows.extend(self.index.windows.top_chunks(vector, self.config.candidates, allowed))
        return np.unique(np.array(rows, dtype=np.int64))

    def _lexical(self, query: str, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        limit = len(self.index.chunks) if allowed is not None else self.config.candidates
        rows, scores = self.index.lexical.top(query, limit)
        if allowed is not None:
            keep = allowed[rows]
            rows, scores = rows[keep][: self.config.candidates], scores[keep][: self.config.candidates]
        return rows, scores

    def _fuse(self, rankings: dict, k: int, vector: np.ndarray | None) -> list[Hit]:
        """One ranking from several: reciprocal rank fusion or a weighted sum of normalised scores."""
        weights = {"dense": self.config.dense_weight, "lexical": self.config.lexical_weight}
        scores: dict[int, float] = {}
        ranks: dict[int, dict] = {}
        for name, (rows, raw) in rankings.items():
            contributions = _contributions(raw, self.config.fusion) * weights[name]
            for rank, (row, value) in enumerate(zip(rows.tolist(), contributions), start=1):
                scores[row] = scores.get(row, 0.0) + float(value)
                ranks.setdefault(row, {n: None for n in rankings})[name] = rank
        ordered = sorted(scores, key=lambda row: -scores[row])
        hits = _without_duplicates([Hit(self.index.chunks[r], scores[r], ranks[r], r) for r in ordered], k)
        if vector is None:
            return hits
        return [replace(hit, similarity=self._similarity(hit.row, vector)) for hit in hits]

    def _similarity(self, row: int, vector: np.ndarray) -> float:
        """Cosine of the query with the chunk or its best window: the evidence for abstaining."""
        similarity = float(self.index.vectors[row] @ vector)
        if len(self.index.windows.rows):
            similarity = max(similarity, float(self.index.windows.best(vector, [row])[0]))
        return similarity


def _with_every_speaker(hits: list[Hit], speakers: list[Mention], per_group: list[list[Hit]], k: int) -> list[Hit]:
    """`hits` with each named speaker's best passage second when none of theirs made the top k:
    "What do the user organisations say about the police?" was given the police's passages alone,
    each closer to "the police" than anything the user organisations said."""
    for speaker, group_hits in zip(speakers, per_group):
        if group_hits and not any(speaker.perspective.covers(hit.chunk) for hit in hits):
            rows = {hit.row for hit in hits}
            best = next((hit for hit in group_hits if hit.row not in rows), None)
            hits = hits[:1] + [best] + hits[1:k - 1] if best else hits
    return hits


def _take_turns(rankings: list[list[Hit]]) -> list[Hit]:
    """The rankings merged by taking one hit from each in turn: groups named together ("the police
    and the health personnel") each get their best passages to the front, the first named first.
    With one ranking it is that ranking."""
    merged, seen = [], set()
    for rank in range(max(map(len, rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank].row not in seen:
                seen.add(ranking[rank].row)
                merged.append(ranking[rank])
    return merged


def _contributions(scores: np.ndarray, fusion: str) -> np.ndarray:
    """What each ranked item adds to its fused score (before the retriever's weight)."""
    if fusion == "rrf":
        return 1.0 / (RRF_K + np.arange(1, len(scores) + 1))
    if not len(scores):
        return scores
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.ones_like(scores)


def _without_duplicates(hits: list[Hit], k: int) -> list[Hit]:
    """Drop a hit whose span mostly overlaps a better hit of the same document."""
    kept: list[Hit] = []
    for hit in hits:
        if not any(_overlap_share(hit.chunk, other.chunk) > DUPLICATE_OVERLAP for other in kept):
            kept.append(hit)
        if len(kept) == k:
            break
    return kept


def _overlap_share(a: Chunk, b: Chunk) -> float:
    if a.text.strip() == b.text.strip():
        return 1.0
    if a.doc_id != b.doc_id:
        return 0.0
    overlap = min(a.end, b.end) - max(a.start, b.start)
    return max(overlap, 0) / max(min(a.end - a.start, b.end - b.start), 1)


def _timed(timings: dict, name: str, step):
    started = time.perf_counter()
    result = step()
    timings[name] = (time.perf_counter() - started) * 1000
    return result
