"""Vector stores: a small protocol and a factory that picks an implementation by name."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStore(Protocol):
    """Vectors under int64 ids, searched by inner product (cosine for normalised vectors)."""

    kind: str

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; an id that is already present is replaced."""

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids (unknown ids are ignored)."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids, each of shape (len(queries), k); missing results have id -1."""

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `ids`, in that order."""

    def save(self, folder: Path) -> None:
        """Write the store into `folder` (which exists and is empty of store files)."""

    def __len__(self) -> int:
        """Number of stored vectors."""


def make_store(kind: str, dim: int, size_hint: int = 0, hnsw_threshold: int = 200_000) -> VectorStore:
    """A new empty store: "flat" (exact), "hnsw" (approximate) or "auto" (by size)."""
    from rag.store.faiss_store import FaissStore

    if kind == "auto":
        kind = "hnsw" if size_hint >= hnsw_threshold else "flat"
    return FaissStore(dim, kind)


def load_store(folder: Path) -> VectorStore:
    """A store previously written with `save`."""
    from rag.store.faiss_store import FaissStore

    return FaissStore.load(folder)
