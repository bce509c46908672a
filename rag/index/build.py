"""Build and update the index folder: chunk, embed, store vectors, BM25 and manifest.

`update` re-embeds only documents whose content hash changed and drops removed ones;
when the manifest's model or chunking settings differ from the current settings, the
index is stale and is rebuilt. Files are written per `rag.index.files` (atomic swap).
`ensure_index`, the way in for queries, rebuilds too, except for another embedding model:
that it refuses (see there).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from rag.embedding import AnyEmbedder, make_embedder
from rag.embedding.checkpoint import clear_checkpoints
from rag.errors import IndexCorrupt, IndexMissing
from rag.index.chunking import ChunkingConfig, chunk_document
from rag.index.files import (
    MANIFEST,
    new_version_folder,
    publish,
    published_name,
    write_chunks,
    write_documents,
    write_json,
    writer_lock,
)
from rag.index.lexical import LexicalIndex
from rag.index.loaded import (
    FORMAT_VERSION,
    Index,
    check_embedding,
    chunking_manifest,
    load_index,
    stale_reasons,
    vector_id,
)
from rag.index.perspectives import PERSPECTIVES_VERSION, PerspectiveTable
from rag.index.phases import reached
from rag.index.store import VectorStore, resolve_kind, store_for_settings
from rag.index.timings import Stopwatch
from rag.index.vectors import embed_chunks
from rag.index.windows import WindowTable
from rag.ingest import CorpusLoad, load_corpus, source_of
from rag.settings import Settings
from rag.types import Chunk, Document

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class UpdateReport:
    """What an update or build did."""

    rebuilt: bool = False
    reason: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    # The perspectives were found by an older rule: re-found and re-embedded, every vector reused.
    perspectives_refreshed: bool = False
    # Documents whose file cannot be read now, kept at their last indexed version.
    kept: list[str] = field(default_factory=list)
    # Seconds per build step (rag.index.timings.STEPS) that ran.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        """True when a new version was written."""
        return bool(self.rebuilt or self.added or self.changed or self.removed or self.perspectives_refreshed)


def build_index(settings: Settings, embedder: AnyEmbedder | None = None, progress: Progress = _stderr) -> UpdateReport:
    """Build the index from scratch from the corpus folder."""
    return update_index(settings, embedder, progress, force_rebuild=True)


def update_index(settings: Settings, embedder: AnyEmbedder | None = None, progress: Progress = _stderr,
                 force_rebuild: bool = False, documents: list[Document] | None = None,
                 prune: bool = False) -> UpdateReport:
    """Bring the index in line with the corpus (or the given documents), embedding only what changed.

    An indexed file that cannot be read now (caught mid-save, emptied, damaged) keeps its last
    indexed version, with a warning; it goes when the file is deleted, or with `prune`."""
    started, stopwatch = time.perf_counter(), Stopwatch()
    with writer_lock(settings.index_dir):
        with stopwatch.step("loading"):
            loaded = load_corpus(settings.corpus_dir) if documents is None else None
        previous, report = _previous_index(settings, force_rebuild, progress)
        if loaded is not None:
            documents = _readable_or_kept(settings, loaded, previous, report, progress, prune)
        plan = _plan(previous, documents, report)
        report.perspectives_refreshed = previous is not None and _older_perspectives(previous.manifest)
        if previous is not None and not report.changed_anything:
            # Shards left by a run killed between its swap and their removal: nothing is missing now.
            clear_checkpoints(settings.index_dir)
            report.total_chunks = len(previous.chunks)
            report.seconds = time.perf_counter() - started
            return report
        embedder = embedder or make_embedder(settings)
        embedded = _chunks_and_vectors(settings, embedder, previous, documents, plan, report, progress, stopwatch)
        _write(settings, embedder, documents, embedded, previous, progress, stopwatch)
    report.total_chunks = len(embedded.chunks)
    report.seconds = time.perf_counter() - started
    report.timings = stopwatch.rounded()
    return report


def _readable_or_kept(settings: Settings, loaded: CorpusLoad, previous: Index | None, report: UpdateReport,
                      progress: Progress, prune: bool) -> list[Document]:
    """The corpus's readable documents, plus the last indexed version of each file that failed to load."""
    documents = list(loaded.documents)
    by_source = {d.source: d for d in previous.documents.values()} if previous is not None else {}
    for problem in loaded.problems:
        source = source_of(problem.path, settings.corpus_dir)
        kept = by_source.get(source) if problem.level == "error" and not prune else None
        if kept is None or kept.id in {d.id for d in documents}:
            progress(f"{problem.level}: {problem.message}")
            continue
        documents.append(kept)
        report.kept.append(kept.id)
        progress(f"warning: kept the last good version of {source}: {problem.message}. Fix the file, or run "
                 "`rag index update --prune` to drop it from the index")
    if not documents:
        raise IndexCorrupt(f"{settings.corpus_dir}: no readable documents to index")
    return documents





def _previous_index(settings: Settings, force_rebuild: bool, progress: Progress) -> tuple[Index | None, UpdateReport]:
    if force_rebuild:
        return None, UpdateReport(rebuilt=True, reason="build requested")
    try:
        previous = load_index(settings.index_dir)
    except (IndexMissing, IndexCorrupt) as error:
        progress(f"{error}: building a new index")
        return None, UpdateReport(rebuilt=True, reason=str(error))
    reasons = stale_reasons(previous.manifest, settings)
    if reasons:
        progress("index is stale (" + "; ".join(reasons) + "): rebuilding")
        return None, UpdateReport(rebuilt=True, reason="stale: " + "; ".join(reasons))
    return previous, UpdateReport()


def _plan(previous: Index | None, documents: list[Document], report: UpdateReport) -> dict[str, bool]:
    """doc id -> True when its chunks must be (re)embedded."""
    known = previous.manifest["documents"] if previous else {}
    plan = {}
    for document in documents:
        old = known.get(document.id)
        plan[document.id] = old is None or old["content_hash"] != document.meta["content_hash"]
        if previous is not None and old is None:
            report.added.append(document.id)
        elif previous is not None and plan[document.id]:
            report.changed.append(document.id)
    report.removed = sorted(set(known) - {d.id for d in documents})
    return plan


@dataclass
class _Embedded:
    """Chunks in store order, their vectors, and their sentence windows."""

    chunks: list[Chunk]
    vectors: np.ndarray
    windows: WindowTable


def _chunks_and_vectors(settings, embedder, previous, documents, plan, report, progress, stopwatch) -> _Embedded:
    """Reused chunks first (with their vectors), then freshly embedded ones."""
    config = ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens)
    kept = [c for c in previous.chunks if plan.get(c.doc_id) is False] if previous else []
    with stopwatch.step("chunking"):
        fresh = [c for d in documents if plan[d.id] for c in chunk_document(d, config)]
    if kept:
        progress(f"reusing {len(kept)} chunks")
    vectors, windows = embed_chunks(settings, embedder, fresh, progress, stopwatch)
    report.embedded_chunks = len(fresh)
    fresh_part = _Embedded(fresh, vectors, windows)
    if not kept:
        return fresh_part
    return _concatenate(_reused(previous, kept), fresh_part)


def _reused(previous: Index, kept: list[Chunk]) -> _Embedded:
    """The kept chunks' vectors and windows, copied out of the previous index."""
    old_rows = np.array([previous.row_of_vector[vector_id(c.id)] for c in kept], dtype=np.int64)
    vectors = previous.store.vectors_for(np.array([vector_id(c.id) for c in kept]))
    old = previous.windows
    picks = [np.arange(old.of_chunk(r).start, old.of_chunk(r).stop) for r in old_rows]
    index = np.concatenate(picks) if picks else np.zeros(0, np.int64)
    new_rows = np.repeat(np.arange(len(kept)), [len(p) for p in picks])
    return _Embedded(kept, vectors, WindowTable(new_rows, old.spans[index], old.vectors[index]))


def _concatenate(first: _Embedded, second: _Embedded) -> _Embedded:
    windows = WindowTable(
        np.concatenate([first.windows.rows, second.windows.rows + len(first.chunks)]),
        np.concatenate([first.windows.spans, second.windows.spans]),
        np.concatenate([first.windows.vectors, second.windows.vectors]),
    )
    return _Embedded(first.chunks + second.chunks, np.concatenate([first.vectors, second.vectors]), windows)


def _write(settings, embedder, documents, embedded: _Embedded, previous, progress, stopwatch: Stopwatch) -> None:
    building = new_version_folder(settings.index_dir)
    with stopwatch.step("writing"):
        reached("write-tables")
        write_documents(building, documents)
        reached("write-tables")
        write_chunks(building, embedded.chunks)
    with stopwatch.step("vector store"):
        store = _write_vectors(settings, building, embedded, progress)
    with stopwatch.step("bm25"):
        reached("write-lexical")
        LexicalIndex.build(embedded.chunks).save(building / "lexical")
    with stopwatch.step("perspectives"):
        perspectives = PerspectiveTable.build(documents, embedder.encode_queries, embedder.dim)
        reached("write-lexical")
        perspectives.save(building)
    with stopwatch.step("writing"):
        reached("write-manifest")
        write_json(building / MANIFEST, _manifest(settings, embedder, documents, embedded.chunks, store, previous,
                                                  perspectives))
        publish(settings.index_dir, building)
        reached("cleanup")
        clear_checkpoints(settings.index_dir)


def _write_vectors(settings, building: Path, embedded: _Embedded, progress) -> VectorStore:
    """Chunk vectors into the configured store, window vectors (and their index) beside them."""
    chunks = embedded.chunks
    store = store_for_settings(settings, embedded.vectors.shape[1], len(chunks), published_name(building))
    (building / "vectors").mkdir()
    reached("write-vectors")
    # Say where the vectors live before filling them: if this build dies now, pruning the
    # unfinished version follows this pointer and drops its Milvus collection too.
    store.save(building / "vectors")
    progress(f"storing {len(chunks)} chunk vectors ({store.describe()['backend']}, {store.kind})")
    labels = [(c.doc_id, c.section_path) for c in chunks]
    reached("write-vectors")
    store.add(np.array([vector_id(c.id) for c in chunks], dtype=np.int64), embedded.vectors, labels)
    store.save(building / "vectors")
    window_kind = resolve_kind(settings.vector_index, len(embedded.windows.rows), settings.approximate_threshold)
    if window_kind != "flat":
        progress(f"indexing {len(embedded.windows.rows)} sentence windows ({window_kind})")
    reached("write-vectors")
    embedded.windows.with_search_index(window_kind).save(building)
    return store


def _manifest(settings, embedder, documents, chunks, store, previous, perspectives) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    per_document = {d.id: {"source": d.source, "content_hash": d.meta["content_hash"], "chunks": 0} for d in documents}
    for chunk in chunks:
        per_document[chunk.doc_id]["chunks"] += 1
    return {
        "format_version": FORMAT_VERSION,
        "created": previous.manifest["created"] if previous else now,
        "updated": now,
        "corpus_dir": str(settings.corpus_dir),
        "embedding": {"backend": settings.embedding_backend, "model": settings.embedding_model,
                      "model_id": embedder.model_id,
                      "dim": embedder.dim, "max_seq_length": embedder.max_seq_length},
        "chunking": chunking_manifest(settings),
        "perspectives": {"version": PERSPECTIVES_VERSION, "labels": [p.label for p in perspectives.perspectives]},
        "store": store.describe(),
        "counts": {"documents": len(documents), "chunks": len(chunks)},
        "documents": per_document,
    }


def _older_perspectives(manifest: dict) -> bool:
    return manifest.get("perspectives", {}).get("version") != PERSPECTIVES_VERSION


def ensure_index(settings: Settings, embedder: AnyEmbedder | None = None, progress: Progress = _stderr,
                 documents: list[Document] | None = None) -> Index:
    """The current index, built first when there is none (or it is broken or stale).

    With `documents`, the index is also brought up to date with them (used by evaluation suites).
    Without, an index of another embedding model than the settings' is refused (EmbeddingMismatch,
    naming `rag index build`): re-embedding a whole corpus may be slow or billed by a hosted server,
    and a model that differs only where the index is queried is more often a mistake than a wish."""
    if documents is None:
        try:
            index = load_index(settings.index_dir)
            check_embedding(index.manifest, settings.embedding_model)
            if not stale_reasons(index.manifest, settings) and not _older_perspectives(index.manifest):
                return index
            # Perspectives found by an older rule are re-found (every vector reused), or the app would
            # go on naming groups the old way until someone ran `rag index update`.
            older_only = not stale_reasons(index.manifest, settings)
        except (IndexMissing, IndexCorrupt):
            older_only = False
        progress(f"finding the perspectives of the index in {settings.index_dir} again (a newer rule) ..."
                 if older_only else f"building the index in {settings.index_dir} from {settings.corpus_dir} ...")
    update_index(settings, embedder, progress, documents=documents)
    return load_index(settings.index_dir)
