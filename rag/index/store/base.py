"""What every vector store is: the protocol, its saved pointer file, and the choice of exact vs approximate."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from rag.types import Filters, Label

STORE_FILE = "store.json"


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
