"""`rag index status`: documents, chunks, model and staleness of the index against the corpus."""
from __future__ import annotations

from rag.errors import IndexCorrupt, IndexMissing
from rag.index.loaded import load_index, stale_reasons
from rag.ingest import load_corpus, source_of
from rag.settings import Settings


def index_status(settings: Settings) -> dict:
    """Documents, chunks, model and staleness of the index against the corpus (no model load)."""
    try:
        index = load_index(settings.index_dir)
    except (IndexMissing, IndexCorrupt) as error:
        return {"index_dir": str(settings.index_dir), "ok": False, "error": str(error)}
    manifest = index.manifest
    loaded = load_corpus(settings.corpus_dir)
    corpus = {d.id: d.meta["content_hash"] for d in loaded.documents}
    known = {doc_id: info["content_hash"] for doc_id, info in manifest["documents"].items()}
    # A file that is there but cannot be read now keeps its indexed version: not a removal.
    failed = {source_of(p.path, settings.corpus_dir) for p in loaded.problems if p.level == "error"}
    unreadable = sorted(d for d, info in manifest["documents"].items() if d not in corpus and info["source"] in failed)
    changes = {
        "added": sorted(set(corpus) - set(known)),
        "removed": sorted(set(known) - set(corpus) - set(unreadable)),
        "changed": sorted(d for d in set(corpus) & set(known) if corpus[d] != known[d]),
    }
    reasons = stale_reasons(manifest, settings)
    return {
        "index_dir": str(settings.index_dir), "ok": True, "version": index.folder.name,
        "documents": manifest["counts"]["documents"], "chunks": manifest["counts"]["chunks"],
        "model": manifest["embedding"], "chunking": manifest["chunking"], "store": manifest["store"],
        "created": manifest["created"], "updated": manifest["updated"],
        "stale": bool(reasons), "stale_reasons": reasons,
        "corpus_changes": changes, "unreadable_kept": unreadable,
        # Every file of the corpus folder that could not be read, with why and what to do: it is in
        # no answer until it is fixed, indexed before or not.
        "unreadable_files": [{"file": source_of(p.path, settings.corpus_dir), "reason": p.message}
                             for p in loaded.problems if p.level == "error"],
        "up_to_date": not reasons and not any(changes.values()),
    }
