"""Vector stores: the same tests for FAISS (flat, IVF, HNSW) and Milvus Lite (flat, IVF, HNSW).

add, replace, remove, search, filters in the engine, save then load (Milvus: reconnect,
also from another process), and clear errors for unusable settings.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import faiss
import numpy as np
import pytest
from conftest import clustered_vectors

from rag.index.store import load_store, make_store, release_store
from rag.index.store.milvus import MilvusConfig, MilvusStore, StoreError, connect, filter_expression
from rag.types import Filters

STORES = ["faiss-flat", "faiss-ivf", "faiss-hnsw", "milvus-flat", "milvus-ivf", "milvus-hnsw"]


def unit_vectors(count, dim=16, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def labels_for(count):
    """Document d0/d1/d2 by id modulo 3; section ("Politi", "Tiltak") for even positions, else ("Helse",)."""
    return [(f"d{n % 3}", ("Politi", "Tiltak") if n % 2 == 0 else ("Helse",)) for n in range(count)]


@pytest.fixture(params=STORES)
def new_store(request, tmp_path):
    """A factory of empty stores of one backend and kind (Milvus Lite in a file under tmp_path)."""
    backend, kind = request.param.split("-")

    def make(dim=16):
        if backend == "faiss":
            return make_store(kind, dim)
        return MilvusStore.create(MilvusConfig(str(tmp_path / "milvus.db")), dim, kind, f"v-{kind}")

    make.kind = kind
    return make


def test_add_search_remove_save_load(tmp_path, new_store):
    store = new_store()
    vectors = unit_vectors(200)
    ids = np.arange(1000, 1200, dtype=np.int64)
    store.add(ids, vectors)
    scores, found = store.search(vectors[:5], 3)
    assert list(found[:, 0]) == list(ids[:5]) and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    store.remove(ids[:2])
    _, found = store.search(vectors[:2], 1)
    assert not set(found[:, 0]) & {1000, 1001} and len(store) == 198
    store.add(ids[2:3], -vectors[2:3])  # replacing an id keeps one vector under it
    assert len(store) == 198 and np.allclose(store.vectors_for(ids[2:3]), -vectors[2:3], atol=1e-6)
    (tmp_path / "saved").mkdir()
    store.save(tmp_path / "saved")
    loaded = load_store(tmp_path / "saved")
    assert loaded.kind == new_store.kind and len(loaded) == 198
    _, again = loaded.search(vectors[10:11], 1)
    assert again[0, 0] == 1010


def test_filters_run_in_the_store(new_store):
    store = new_store()
    vectors = unit_vectors(60, seed=1)
    ids = np.arange(1, 61, dtype=np.int64)
    labels = labels_for(60)
    store.add(ids, vectors, labels)
    cases = [Filters(doc_ids=frozenset({"d1"})), Filters(section_prefix=("Politi",)),
             Filters(doc_ids=frozenset({"d0", "d2"}), section_prefix=("Politi", "Tiltak"))]
    for filters in cases:
        allowed = {int(i) for i, label in zip(ids, labels) if filters.allows_label(label)}
        scores, found = store.search(vectors, 5, filters)
        assert set(found.ravel().tolist()) <= allowed, filters
        expected = [sorted(allowed, key=lambda i: -float(vectors[i - 1] @ q))[:5] for q in vectors]
        assert sum(list(row) == want for row, want in zip(found.tolist(), expected)) >= 58, filters
    _, none = store.search(vectors[:2], 3, Filters(section_prefix=("Politi", "Helse")))
    assert (none == -1).all()


def test_section_prefix_is_a_whole_heading_not_a_string_prefix(new_store):
    store = new_store()
    store.add(np.array([1, 2]), unit_vectors(2), [("d", ("Politi",)), ("d", ("Politiet",))])
    _, found = store.search(unit_vectors(1, seed=3), 2, Filters(section_prefix=("Politi",)))
    assert found[0].tolist() == [1, -1]


def test_auto_kind_switches_to_ivf_past_threshold():
    assert make_store("auto", 8, size_hint=10, approximate_threshold=100).kind == "flat"
    assert make_store("auto", 8, size_hint=100, approximate_threshold=100).kind == "ivf"


def test_unknown_kind_and_mismatched_files_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown FAISS index kind"):
        make_store("ivf-pq", 8)
    store = make_store("flat", 8)
    store.add(np.arange(3), unit_vectors(3, 8))
    store.save(tmp_path)
    np.save(tmp_path / "ids.npy", np.arange(2))
    with pytest.raises(ValueError, match="disagree"):
        load_store(tmp_path)


def test_milvus_filter_expression_quotes_document_ids():
    expression = filter_expression(Filters(doc_ids=frozenset({'a"b', "c\\d"}), section_prefix=("X",)))
    assert expression.startswith('doc_id in ["a\\"b", "c\\\\d"] and array_contains(section_prefixes, ')
    assert filter_expression(Filters()) == ""


def test_milvus_store_reconnects_from_another_process(tmp_path):
    """A collection written and saved by one process is found by the next one (Milvus Lite on disk)."""
    writer = textwrap.dedent(f"""
        import numpy as np
        from pathlib import Path
        from rag.index.store.milvus import MilvusConfig, MilvusStore
        vectors = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store = MilvusStore.create(MilvusConfig({str(tmp_path / 'milvus.db')!r}), 16, "hnsw", "v-1")
        store.add(np.arange(1, 31), vectors, [("d", ("A",))] * 30)
        store.save(Path({str(tmp_path)!r}))
    """)
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)
    loaded = load_store(tmp_path)
    vectors = unit_vectors(30, seed=0)
    assert len(loaded) == 30 and loaded.describe()["collection"] == "rag_chunks_v_1"
    _, found = loaded.search(vectors[4:5], 1, Filters(doc_ids=frozenset({"d"})))
    assert found[0, 0] == 5
    assert release_store(tmp_path) and not loaded.client.has_collection("rag_chunks_v_1")
    with pytest.raises(ValueError, match="collection rag_chunks_v_1 is missing"):
        load_store(tmp_path)


def test_milvus_bad_uri_names_the_setting():
    with pytest.raises(StoreError, match=r"milvus_uri='index/vectors.txt'.*\.db.*http://host:19530"):
        connect("index/vectors.txt", 1.0)


def test_milvus_without_its_client_names_the_install_step(monkeypatch, tmp_path):
    # `make run` installs no Milvus client: the `milvus` extra brings it.
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(StoreError, match=r"vector_store=milvus needs pymilvus.*'\.\[milvus\]'"):
        connect(str(tmp_path / "milvus.db"), 1.0)


def test_milvus_unreachable_server_says_what_to_do():
    with pytest.raises(StoreError, match=r"cannot reach Milvus at http://127.0.0.1:9 .*RAG_MILVUS_URI"):
        connect("http://127.0.0.1:9", 1.0)


def test_milvus_bad_index_params_name_the_setting(tmp_path):
    config = MilvusConfig(str(tmp_path / "milvus.db"), build_params="{M: 16}")
    with pytest.raises(StoreError, match="milvus_index_params"):
        MilvusStore.create(config, 8, "hnsw", "v-x")


def test_ivf_is_approximate_but_finds_nearly_all_exact_neighbours():
    vectors, queries = clustered_vectors(20_000), clustered_vectors(100, seed=6)
    ids = np.arange(1, 20_001)
    exact, ivf = make_store("flat", 32), make_store("ivf", 32)
    for store in (exact, ivf):
        store.add(ids, vectors)
    _, expected = exact.search(queries, 10)
    _, found = ivf.search(queries, 10)
    lists = faiss.extract_index_ivf(ivf.index)
    assert lists.nprobe < lists.nlist  # not an exhaustive scan in disguise
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), expected.tolist())])
    assert recall >= 0.95


def test_ivf_retrains_when_the_corpus_has_doubled_and_keeps_its_clusters_on_disk(tmp_path):
    vectors = clustered_vectors(8_000)
    store = make_store("ivf", 32)
    store.add(np.arange(1, 2_001), vectors[:2_000])
    small = faiss.extract_index_ivf(store.index).nlist
    store.add(np.arange(2_001, 3_001), vectors[2_000:3_000])  # grown by half: same clusters
    assert faiss.extract_index_ivf(store.index).nlist == small
    store.add(np.arange(3_001, 8_001), vectors[3_000:])  # more than doubled: retrained
    large = faiss.extract_index_ivf(store.index).nlist
    assert large > small and store.index.ntotal == 8_000
    store.remove(np.arange(1, 101))
    _, found = store.search(vectors[:100], 1)
    assert store.index.ntotal == 7_900 and found.min() > 100
    store.save(tmp_path)
    loaded = load_store(tmp_path)
    assert loaded._index is not None and faiss.extract_index_ivf(loaded.index).nlist == large
    _, again = loaded.search(vectors[500:501], 1)
    assert again[0, 0] == 501
