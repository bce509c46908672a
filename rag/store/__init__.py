"""Vector stores: a small protocol, the filter they apply in the engine, and a factory by settings.

`faiss` keeps vectors in process memory and in the index folder; `milvus` keeps them in a
Milvus collection (Milvus Lite in a local file, or a Milvus server/cluster by URI). Each
vector carries a label (document id, section path) so a filter runs inside the engine.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from rag.types import Chunk

if TYPE_CHECKING:
    from rag.settings import Settings

# A vector's label: the document id and section path of the chunk it embeds.
Label = tuple[str, tuple[str, ...]]
STORE_FILE = "store.json"
BACKENDS = ("faiss", "milvus")


@dataclass(frozen=True)
class Filters:
    """Restrict search to documents and/or a section-path prefix."""

    doc_ids: frozenset[str] = frozenset()
    section_prefix: tuple[str, ...] = ()

    def allows(self, chunk: Chunk) -> bool:
        """True if the chunk passes both filters."""
        return self.allows_label((chunk.doc_id, chunk.section_path))

    def allows_label(self, label: Label) -> bool:
        """True if a vector labelled (doc_id, section_path) passes both filters."""
        doc_id, section_path = label
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        return tuple(section_path[: len(self.section_prefix)]) == self.section_prefix

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.section_prefix)


class VectorStore(Protocol):
    """Vectors under int64 ids, searched by inner product (cosine for normalised vectors)."""

    kind: str
    # True when filtered search should be left to the engine (the vectors live elsewhere);
    # False when the caller may as well score the allowed vectors itself, exactly.
    filters_in_engine: bool

    def add(self, ids: np.ndarray, vectors: np.ndarray, labels: Sequence[Label] | None = None) -> None:
        """Add vectors (with optional labels for filtering); an id already present is replaced."""

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids (unknown ids are ignored)."""

    def search(self, queries: np.ndarray, k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids, each of shape (len(queries), k), among vectors passing `filters`; missing ids are -1."""

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `ids`, in that order."""

    def save(self, folder: Path) -> None:
        """Write the store (or where to find it) into `folder` (which exists and is empty of store files)."""

    def describe(self) -> dict:
        """Backend, kind and location, for the index manifest."""

    def __len__(self) -> int:
        """Number of stored vectors."""


def resolve_kind(kind: str, size_hint: int, approximate_threshold: int) -> str:
    """ "flat", "ivf" or "hnsw"; "auto" is exact below `approximate_threshold` vectors and IVF from there."""
    if kind == "auto":
        return "ivf" if size_hint >= approximate_threshold else "flat"
    return kind


def make_store(kind: str, dim: int, size_hint: int = 0, approximate_threshold: int = 200_000) -> VectorStore:
    """A new empty FAISS store: "flat" (exact), "ivf" or "hnsw" (approximate), or "auto" (by size)."""
    from rag.store.faiss_store import FaissStore

    return FaissStore(dim, resolve_kind(kind, size_hint, approximate_threshold))


def store_for_settings(settings: "Settings", dim: int, size_hint: int, version: str) -> VectorStore:
    """A new empty store of the configured backend; `version` names a Milvus collection."""
    if settings.vector_store == "faiss":
        return make_store(settings.vector_index, dim, size_hint, settings.approximate_threshold)
    if settings.vector_store == "milvus":
        from rag.store.milvus import MilvusConfig, MilvusStore

        kind = resolve_kind(settings.vector_index, size_hint, settings.approximate_threshold)
        return MilvusStore.create(MilvusConfig.from_settings(settings), dim, kind, version)
    from rag.settings import SettingsError

    raise SettingsError(f"setting vector_store={settings.vector_store!r} is unknown; use one of {', '.join(BACKENDS)}")


def load_store(folder: Path) -> VectorStore:
    """A store previously written with `save` (FAISS files, or a pointer to a Milvus collection)."""
    if _backend(folder) == "milvus":
        from rag.store.milvus import MilvusStore

        return MilvusStore.load(folder)
    from rag.store.faiss_store import FaissStore

    return FaissStore.load(folder)


def release_store(folder: Path) -> bool:
    """Free what a saved store holds outside `folder` (a Milvus collection); False if that failed."""
    if not (Path(folder) / STORE_FILE).is_file() or _backend(folder) != "milvus":
        return True
    from rag.store.milvus import MilvusStore

    try:
        MilvusStore.drop(folder)
        return True
    except Exception as error:  # noqa: BLE001 - pruning must not fail a published update
        print(f"warning: could not drop the Milvus collection of {folder} ({error}); will retry", file=sys.stderr)
        return False


def _backend(folder: Path) -> str:
    return json.loads((Path(folder) / STORE_FILE).read_text()).get("backend", "faiss")
