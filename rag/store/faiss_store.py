"""FAISS vector store: exact inner product (IndexFlatIP) or HNSW, under int64 ids.

The ids and vectors are kept in numpy arrays as the source of truth; the FAISS index
is derived from them. That makes removal work for HNSW too (which cannot delete) and
lets an index update copy the vectors of unchanged chunks without re-embedding.
"""
from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np

KINDS = ("flat", "hnsw")
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128


class FaissStore:
    """A `VectorStore` over FAISS."""

    def __init__(self, dim: int, kind: str = "flat"):
        if kind not in KINDS:
            raise ValueError(f"unknown FAISS index kind {kind!r}; use one of {', '.join(KINDS)}")
        self.dim = dim
        self.kind = kind
        self.ids = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self._index: faiss.Index | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) vectors under ids."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add() call")
        self.remove(ids)
        self.ids = np.concatenate([self.ids, ids])
        self.vectors = np.concatenate([self.vectors, vectors])
        if self._index is not None:
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        """Drop ids; HNSW is rebuilt lazily because it cannot delete in place."""
        keep = ~np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        if keep.all():
            return
        self.ids, self.vectors = self.ids[keep], self.vectors[keep]
        if self.kind == "flat" and self._index is not None:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
        else:
            self._index = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if not len(self):
            return np.zeros((len(queries), k), np.float32), -np.ones((len(queries), k), np.int64)
        return self.index.search(queries, min(k, len(self)))

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors for ids (KeyError for an unknown id)."""
        position = {int(i): n for n, i in enumerate(self.ids)}
        try:
            return self.vectors[[position[int(i)] for i in ids]]
        except KeyError as error:
            raise KeyError(f"vector id {error} is not in the store") from None

    @property
    def index(self) -> faiss.Index:
        """The FAISS index, built from the arrays when first needed."""
        if self._index is None:
            self._index = self._new_index()
            if len(self):
                self._index.add_with_ids(self.vectors, self.ids)
        return self._index

    def _new_index(self) -> faiss.Index:
        if self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            inner.hnsw.efSearch = HNSW_EF_SEARCH
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def save(self, folder: Path) -> None:
        """ids.npy, vectors.npy, store.json, and the HNSW graph (costly to rebuild)."""
        folder = Path(folder)
        np.save(folder / "ids.npy", self.ids)
        np.save(folder / "vectors.npy", self.vectors)
        (folder / "store.json").write_text(json.dumps({"kind": self.kind, "dim": self.dim, "count": len(self)}))
        if self.kind == "hnsw":
            faiss.write_index(self.index, str(folder / "hnsw.faiss"))

    @classmethod
    def load(cls, folder: Path) -> "FaissStore":
        """Read a saved store; raises ValueError if its files disagree."""
        folder = Path(folder)
        info = json.loads((folder / "store.json").read_text())
        store = cls(int(info["dim"]), info["kind"])
        store.ids = np.load(folder / "ids.npy")
        store.vectors = np.load(folder / "vectors.npy")
        if len(store.ids) != info["count"] or store.vectors.shape != (info["count"], store.dim):
            raise ValueError(f"{folder}: vector files disagree with store.json")
        if store.kind == "hnsw" and (folder / "hnsw.faiss").is_file():
            store._index = faiss.read_index(str(folder / "hnsw.faiss"))
        return store
