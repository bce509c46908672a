"""The Milvus store against a real Milvus server (opt-in: set RAG_TEST_MILVUS_URI=http://host:19530).

The backend-independent store tests of test_store.py run here with a `new_store` fixture that
makes server collections; the rest checks what only a server shows: a second process reconnects
by URI, and a pruned version's collection is dropped from the server. Every collection gets a
random prefix and is dropped afterwards, so a shared server keeps nothing of these tests.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest

import test_store
from rag.store import Filters, load_store, release_store
from rag.store.milvus import MilvusConfig, MilvusStore, connect

URI = os.environ.get("RAG_TEST_MILVUS_URI", "")
if not URI:
    pytest.skip("no Milvus server: set RAG_TEST_MILVUS_URI=http://127.0.0.1:19530 to run these tests",
                allow_module_level=True)

PREFIX = f"rag_test_{uuid.uuid4().hex[:8]}"

# Collected here, these tests take this module's `new_store` (server collections), not test_store's.
test_add_search_remove_save_load = test_store.test_add_search_remove_save_load
test_filters_run_in_the_store = test_store.test_filters_run_in_the_store
test_section_prefix_is_a_whole_heading_not_a_string_prefix = \
    test_store.test_section_prefix_is_a_whole_heading_not_a_string_prefix


def _drop_test_collections():
    client = connect(URI, 10)
    for name in client.list_collections():
        if name.startswith(PREFIX):
            client.drop_collection(name)


@pytest.fixture(autouse=True)
def clean_server():
    """Drop this run's collections after each test, passed or failed."""
    yield
    _drop_test_collections()


@pytest.fixture(params=["flat", "hnsw"])
def new_store(request):
    """A factory of empty stores of one kind, each a collection on the server."""

    def make(dim=16):
        return MilvusStore.create(MilvusConfig(URI, collection_prefix=PREFIX), dim, request.param,
                                  f"v-{request.param}")

    make.kind = request.param
    return make


def test_store_reconnects_from_another_process_by_uri(tmp_path):
    """A collection written and saved by one process is found by the next, then dropped when released."""
    writer = textwrap.dedent(f"""
        import numpy as np
        from pathlib import Path
        from rag.store.milvus import MilvusConfig, MilvusStore
        vectors = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store = MilvusStore.create(MilvusConfig({URI!r}, collection_prefix={PREFIX!r}), 16, "hnsw", "v-1")
        store.add(np.arange(1, 31), vectors, [("d", ("A",))] * 30)
        store.save(Path({str(tmp_path)!r}))
    """)
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)
    loaded = load_store(tmp_path)
    vectors = test_store.unit_vectors(30, seed=0)
    assert len(loaded) == 30 and loaded.describe() == {
        "backend": "milvus", "kind": "hnsw", "index_type": "HNSW", "uri": URI, "collection": f"{PREFIX}_v_1"}
    _, found = loaded.search(vectors[4:5], 1, Filters(doc_ids=frozenset({"d"}), section_prefix=("A",)))
    assert found[0, 0] == 5
    assert release_store(tmp_path) and not loaded.client.has_collection(f"{PREFIX}_v_1")
    with pytest.raises(ValueError, match=f"collection {PREFIX}_v_1 is missing"):
        load_store(tmp_path)


def test_create_replaces_a_collection_of_the_same_version(new_store):
    store = new_store()
    store.add(np.arange(5), test_store.unit_vectors(5))
    again = new_store()
    assert again.collection == store.collection and len(again) == 0
