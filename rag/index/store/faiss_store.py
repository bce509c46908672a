"""FAISS vector store: exact inner product (IndexFlatIP), IVF or HNSW, under int64 ids.

The ids and vectors are kept in numpy arrays as the source of truth; the FAISS index
is derived from them. That makes removal work for HNSW too (which cannot delete), lets
IVF retrain its clusters when the corpus has grown, and lets an index update copy the
vectors of unchanged chunks without re-embedding.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np

from rag.index.store.base import STORE_FILE
from rag.types import Filters, Label

KINDS = ("flat", "ivf", "hnsw")
# bench/scale.md (`make bench-scale`) at 1M vectors: M=32, efConstruction=200 reach recall@10
# 0.93 where M=16, efConstruction=100 reach 0.80, and still build at ~4,000 vectors/s, far
# faster than embedding; efSearch=512 costs about 1.5 ms p95 per query.
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512
# IVF (inverted lists of k-means clusters): about 4*sqrt(n) lists, as the FAISS guidelines
# advise, each trained on up to 64 sample vectors (FAISS warns below 39). bench/scale.md at
# 1M vectors: 128 probed lists reach recall@10 0.997 at 3.3 ms p95; building takes 58 s.
IVF_PROBES = 128
IVF_MIN_TRAINING_PER_LIST = 39
IVF_TRAINING_PER_LIST = 64
# Clusters trained on a small corpus fit a grown one badly: retrain once it has doubled.
IVF_RETRAIN_GROWTH = 2.0
IVF_SEED = 1234


class FaissStore:
    """A `VectorStore` over FAISS."""

    # The vectors are in this process: scoring the allowed ones exactly is as cheap as asking FAISS.
    filters_in_engine = False

    def __init__(self, dim: int, kind: str = "flat"):
        if kind not in KINDS:
            raise ValueError(f"unknown FAISS index kind {kind!r}; use one of {', '.join(KINDS)}")
        self.dim = dim
        self.kind = kind
        self.ids = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        # Labels in id order: document id and section path of each vector (for filters).
        self.doc_ids = np.zeros(0, dtype=object)
        self.section_paths = np.zeros(0, dtype=object)
        self._index: faiss.Index | None = None
        self._trained_on = 0  # IVF: how many vectors the clusters were trained on

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray, labels: Sequence[Label] | None = None) -> None:
        """Add (or replace) vectors under ids, labelled for filters (unlabelled: no document, no path)."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add() call")
        self.remove(ids)
        self.ids = np.concatenate([self.ids, ids])
        self.vectors = np.concatenate([self.vectors, vectors])
        doc_ids, section_paths = _label_arrays(labels, len(ids))
        self.doc_ids = np.concatenate([self.doc_ids, doc_ids])
        self.section_paths = np.concatenate([self.section_paths, section_paths])
        if self.kind == "ivf" and len(self) > IVF_RETRAIN_GROWTH * self._trained_on:
            self._index = None
        if self._index is not None:
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        """Drop ids; HNSW is rebuilt lazily because it cannot delete in place."""
        keep = ~np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        if keep.all():
            return
        self.ids, self.vectors = self.ids[keep], self.vectors[keep]
        self.doc_ids, self.section_paths = self.doc_ids[keep], self.section_paths[keep]
        if self.kind != "hnsw" and self._index is not None:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
        else:
            self._index = None

    def search(self, queries: np.ndarray, k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, among the vectors that pass `filters`."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        allowed = self.ids[self._mask(filters)] if filters else self.ids
        if not len(allowed):
            return np.zeros((len(queries), k), np.float32), -np.ones((len(queries), k), np.int64)
        if not filters:
            return _padded(*self.index.search(queries, min(k, len(self))), k)
        return _padded(*self.index.search(queries, min(k, len(allowed)), params=self._selecting(allowed)), k)

    def _mask(self, filters: Filters) -> np.ndarray:
        """Which stored vectors pass `filters`."""
        return np.fromiter((filters.allows_label(label) for label in zip(self.doc_ids, self.section_paths)),
                           dtype=bool, count=len(self))

    def _selecting(self, allowed: np.ndarray) -> faiss.SearchParameters:
        selector = faiss.IDSelectorBatch(allowed)
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)
        if self.kind == "ivf":
            # Every list: the allowed vectors may all sit in clusters far from the query.
            return faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(self.index).nlist)
        return faiss.SearchParameters(sel=selector)

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

    def describe(self) -> dict:
        """Backend and kind, for the manifest."""
        return {"backend": "faiss", "kind": self.kind}

    def _new_index(self) -> faiss.Index:
        if self.kind == "ivf":
            return self._trained_ivf()
        if self.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            inner.hnsw.efSearch = HNSW_EF_SEARCH
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _trained_ivf(self) -> faiss.Index:
        """An empty IVF index whose clusters are trained on a sample of the stored vectors."""
        lists = ivf_lists(len(self))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, lists, faiss.METRIC_INNER_PRODUCT)
        ivf.nprobe = min(IVF_PROBES, lists)
        sample = self._training_sample(lists * IVF_TRAINING_PER_LIST)
        if lists == 1:  # one list holds everything: its centre needs no k-means (which warns on few points)
            ivf.quantizer.add(sample.mean(axis=0, keepdims=True))
            ivf.is_trained = True
        else:
            ivf.train(sample)
        self._trained_on = len(self)
        # IVF keeps the ids itself (and removes by them), so it needs no IndexIDMap around it.
        return ivf

    def _training_sample(self, size: int) -> np.ndarray:
        """Up to `size` stored vectors drawn at random (one zero vector for an empty store)."""
        if not len(self):
            return np.zeros((1, self.dim), np.float32)
        chosen = np.random.default_rng(IVF_SEED).choice(len(self), min(size, len(self)), replace=False)
        return self.vectors[np.sort(chosen)]

    def save(self, folder: Path) -> None:
        """ids.npy, vectors.npy, labels.json, store.json, and the IVF or HNSW index (costly to rebuild)."""
        folder = Path(folder)
        np.save(folder / "ids.npy", self.ids)
        np.save(folder / "vectors.npy", self.vectors)
        if any(self.doc_ids) or any(map(len, self.section_paths)):  # unlabelled stores need no file
            labels = [[doc_id, list(path)] for doc_id, path in zip(self.doc_ids, self.section_paths)]
            (folder / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
        info = {"backend": "faiss", "kind": self.kind, "dim": self.dim, "count": len(self)}
        (folder / STORE_FILE).write_text(json.dumps(info))
        if self.kind != "flat" and len(self):  # an empty store's index is made when vectors come
            faiss.write_index(self.index, str(folder / f"{self.kind}.faiss"))

    @classmethod
    def load(cls, folder: Path) -> "FaissStore":
        """Read a saved store; raises ValueError if its files disagree."""
        folder = Path(folder)
        info = json.loads((folder / STORE_FILE).read_text())
        store = cls(int(info["dim"]), info["kind"])
        store.ids = np.load(folder / "ids.npy")
        store.vectors = np.load(folder / "vectors.npy")
        if len(store.ids) != info["count"] or store.vectors.shape != (info["count"], store.dim):
            raise ValueError(f"{folder}: vector files disagree with store.json")
        store.doc_ids, store.section_paths = _label_arrays(_read_labels(folder), len(store.ids))
        index_file = folder / f"{store.kind}.faiss"
        if store.kind != "flat" and index_file.is_file():
            store._index = faiss.read_index(str(index_file))
            store._trained_on = store._index.ntotal
        return store


def ivf_lists(count: int) -> int:
    """How many IVF lists for `count` vectors: ~4*sqrt(count), with enough vectors to train each."""
    return max(1, min(round(4 * count ** 0.5), count // IVF_MIN_TRAINING_PER_LIST))


def _padded(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k columns, as the protocol promises: missing results get score 0 and id -1."""
    missing = k - ids.shape[1]
    if missing <= 0:
        return scores, ids
    return np.pad(scores, ((0, 0), (0, missing))), np.pad(ids, ((0, 0), (0, missing)), constant_values=-1)


def _label_arrays(labels: Sequence[Label] | None, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Object arrays of document ids and section paths (empty labels when none are given)."""
    doc_ids, section_paths = np.empty(count, dtype=object), np.empty(count, dtype=object)
    if labels is None:  # without a Python loop: window stores hold millions of unlabelled vectors
        doc_ids.fill("")
        section_paths.fill(())
        return doc_ids, section_paths
    labels = list(labels)
    if len(labels) != count:
        raise ValueError(f"{len(labels)} labels for {count} vectors")
    for position, (doc_id, section_path) in enumerate(labels):
        doc_ids[position], section_paths[position] = doc_id, tuple(section_path)
    return doc_ids, section_paths


def _read_labels(folder: Path) -> list[Label] | None:
    """labels.json if present (unlabelled stores, such as sentence windows, have none)."""
    labels_file = folder / "labels.json"
    if not labels_file.is_file():
        return None
    return [(doc_id, tuple(section_path)) for doc_id, section_path in json.loads(labels_file.read_text(encoding="utf-8"))]
