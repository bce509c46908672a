"""The Milvus store against a real Milvus server: the one RAG_TEST_MILVUS_URI names, or else a
Milvus 2.3.5 standalone server (the `milvus` package of the dev extra) started for this module.

The backend-independent store tests of test_store.py run here with a `new_store` fixture that
makes server collections; the rest checks what only a server shows: a second process reconnects
by URI, and a pruned version's collection is dropped from the server. Every collection gets a
random prefix and is dropped afterwards, so a shared server keeps nothing of these tests.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import test_store

from rag.index.store import load_store, release_store
from rag.index.store.milvus import MilvusConfig, MilvusStore, connect
from rag.types import Filters

pytestmark = pytest.mark.slow
PREFIX = f"rag_test_{uuid.uuid4().hex[:8]}"
STARTUP_S = 120


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory):
    """RAG_TEST_MILVUS_URI if set; else a Milvus standalone server (PyPI `milvus`) started for these tests."""
    if os.environ.get("RAG_TEST_MILVUS_URI"):
        yield os.environ["RAG_TEST_MILVUS_URI"]
        return
    folder = tmp_path_factory.mktemp("milvus-server")
    port = _free_port()
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen([str(Path(sys.executable).parent / "milvus-server"), "--data", str(folder / "data"),
                               "--proxy-port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        uri = f"http://127.0.0.1:{port}"
        _wait_until_serving(uri, server, folder / "server.log")
        yield uri
    finally:
        _stop(server)
        log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(uri: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            connect(uri, 2).list_collections()
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(1)
    tail = log.read_text(errors="replace")[-2000:]
    pytest.fail(f"the Milvus server did not start within {STARTUP_S} s (is another one using its ports?):\n{tail}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server as Ctrl-C does (it then stops the standalone process it started)."""
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
            server.wait(timeout=wait)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


# Collected here, these tests take this module's `new_store` (server collections), not test_store's.
test_add_search_remove_save_load = test_store.test_add_search_remove_save_load
test_filters_run_in_the_store = test_store.test_filters_run_in_the_store
test_section_prefix_is_a_whole_heading_not_a_string_prefix = \
    test_store.test_section_prefix_is_a_whole_heading_not_a_string_prefix


@pytest.fixture(autouse=True)
def clean_server(server_uri):
    """Drop this run's collections after each test, passed or failed."""
    yield
    client = connect(server_uri, 10)
    for name in client.list_collections():
        if name.startswith(PREFIX):
            client.drop_collection(name)


@pytest.fixture(params=["flat", "ivf", "hnsw"])
def new_store(request, server_uri):
    """A factory of empty stores of one kind, each a collection on the server."""

    def make(dim=16):
        return MilvusStore.create(MilvusConfig(server_uri, collection_prefix=PREFIX), dim, request.param,
                                  f"v-{request.param}")

    make.kind = request.param
    return make


def test_store_reconnects_from_another_process_by_uri(tmp_path, server_uri):
    """A collection written and saved by one process is found by the next, then dropped when released."""
    writer = textwrap.dedent(f"""
        import numpy as np
        from pathlib import Path
        from rag.index.store.milvus import MilvusConfig, MilvusStore
        vectors = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store = MilvusStore.create(MilvusConfig({server_uri!r}, collection_prefix={PREFIX!r}), 16, "hnsw", "v-1")
        store.add(np.arange(1, 31), vectors, [("d", ("A",))] * 30)
        store.save(Path({str(tmp_path)!r}))
    """)
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)
    loaded = load_store(tmp_path)
    vectors = test_store.unit_vectors(30, seed=0)
    assert len(loaded) == 30 and loaded.describe() == {
        "backend": "milvus", "kind": "hnsw", "index_type": "HNSW", "uri": server_uri, "collection": f"{PREFIX}_v_1"}
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
