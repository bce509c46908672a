"""Vector stores: a small protocol, the filter they apply in the engine, and a factory by settings.

`faiss` keeps vectors in process memory and in the index folder; `milvus` keeps them in a
Milvus collection (Milvus Lite in a local file, or a Milvus server/cluster by URI). Each
vector carries a label (document id, section path) so a filter runs inside the engine.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import SettingsError, report
from rag.index.store.base import STORE_FILE, VectorStore, resolve_kind

__all__ = ["STORE_FILE", "VectorStore", "load_store", "make_store", "release_store", "resolve_kind",
           "store_for_settings"]

if TYPE_CHECKING:
    from rag.settings import Settings

BACKENDS = ("faiss", "milvus")


def make_store(kind: str, dim: int, size_hint: int = 0, approximate_threshold: int = 200_000) -> VectorStore:
    """A new empty FAISS store: "flat" (exact), "ivf" or "hnsw" (approximate), or "auto" (by size)."""
    from rag.index.store.faiss_store import FaissStore

    return FaissStore(dim, resolve_kind(kind, size_hint, approximate_threshold))


def store_for_settings(settings: "Settings", dim: int, size_hint: int, version: str) -> VectorStore:
    """A new empty store of the configured backend; `version` names a Milvus collection."""
    if settings.vector_store == "faiss":
        return make_store(settings.vector_index, dim, size_hint, settings.approximate_threshold)
    if settings.vector_store == "milvus":
        from rag.index.store.milvus import MilvusConfig, MilvusStore

        kind = resolve_kind(settings.vector_index, size_hint, settings.approximate_threshold)
        return MilvusStore.create(MilvusConfig.from_settings(settings), dim, kind, version)
    raise SettingsError(f"setting vector_store={settings.vector_store!r} is unknown; use one of {', '.join(BACKENDS)}")


def load_store(folder: Path) -> VectorStore:
    """A store previously written with `save` (FAISS files, or a pointer to a Milvus collection)."""
    if _backend(folder) == "milvus":
        from rag.index.store.milvus import MilvusStore

        return MilvusStore.load(folder)
    from rag.index.store.faiss_store import FaissStore

    return FaissStore.load(folder)


def release_store(folder: Path) -> bool:
    """Free what a saved store holds outside `folder` (a Milvus collection); False if that failed."""
    if not (Path(folder) / STORE_FILE).is_file() or _backend(folder) != "milvus":
        return True
    from rag.index.store.milvus import MilvusStore

    try:
        MilvusStore.drop(folder)
        return True
    except Exception as error:  # noqa: BLE001 - pruning must not fail a published update
        report("warning", f"could not drop the Milvus collection of {folder} ({error}); will retry")
        return False


def _backend(folder: Path) -> str:
    return json.loads((Path(folder) / STORE_FILE).read_text()).get("backend", "faiss")
