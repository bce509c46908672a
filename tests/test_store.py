"""The FAISS vector store: add, replace, remove, search, save and load, flat and HNSW."""
from __future__ import annotations

import numpy as np
import pytest

from rag.store import load_store, make_store


def unit_vectors(count, dim=16, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_add_search_remove_save_load(tmp_path, kind):
    store = make_store(kind, 16)
    vectors = unit_vectors(200)
    ids = np.arange(1000, 1200, dtype=np.int64)
    store.add(ids, vectors)
    scores, found = store.search(vectors[:5], 3)
    assert list(found[:, 0]) == list(ids[:5]) and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    store.remove(ids[:2])
    _, found = store.search(vectors[:2], 1)
    assert not set(found[:, 0]) & {1000, 1001} and len(store) == 198
    store.add(ids[2:3], -vectors[2:3])  # replacing an id keeps one vector under it
    assert len(store) == 198 and np.allclose(store.vectors_for(ids[2:3]), -vectors[2:3])
    store.save(tmp_path)
    loaded = load_store(tmp_path)
    assert loaded.kind == kind and len(loaded) == 198
    _, again = loaded.search(vectors[10:11], 1)
    assert again[0, 0] == 1010


def test_auto_kind_switches_to_hnsw_past_threshold():
    assert make_store("auto", 8, size_hint=10, hnsw_threshold=100).kind == "flat"
    assert make_store("auto", 8, size_hint=100, hnsw_threshold=100).kind == "hnsw"


def test_unknown_kind_and_mismatched_files_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown FAISS index kind"):
        make_store("ivf", 8)
    store = make_store("flat", 8)
    store.add(np.arange(3), unit_vectors(3, 8))
    store.save(tmp_path)
    np.save(tmp_path / "ids.npy", np.arange(2))
    with pytest.raises(ValueError, match="disagree"):
        load_store(tmp_path)
