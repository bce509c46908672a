"""Hosted embeddings: an index built and queried through an OpenAI-compatible `/v1/embeddings`
server on loopback (tests/embedding_server.py, serving the bundled model), its faults, the
API key kept out of every error, and the refusal to query an index with another model."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO
from embedding_server import SHORT_DIM, EmbeddingServer
from fault_server import free_port

from rag.answer import Answerer
from rag.embedding import make_embedder
from rag.errors import EmbeddingError, EmbeddingMismatch, SettingsError
from rag.index import build_index, ensure_index, index_status, load_index
from rag.retrieval import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow
QUIET = {"progress": lambda message: None}
E5 = "intfloat/multilingual-e5-small"
OTHER_MODEL = "text-embedding-3-small"
KEY_ENV = "RAG_TEST_EMBEDDING_KEY"
KEY = "sk-embed-7d2b4c61a8e9f0d1c2b3a4e5f6a7b8c9"
CORPUS = {
    "politi.md": "# Politiet\n\nPolitiet sier at de mangler ressurser til å følge opp rusavhengige på gata.\n\n"
                 "De ønsker flere patruljer om kvelden og et bedre samarbeid med kommunen.\n",
    "helse.md": "# Helse\n\nHelsepersonell ber om flere behandlingsplasser i LAR.\n\n"
                "Ventetiden for behandling er nå over tre måneder.\n",
}


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def hosted(server: EmbeddingServer | str, corpus, index_dir, **overrides) -> Settings:
    """Settings that embed through `server` (or a base URL), the key in KEY_ENV."""
    base_url = server if isinstance(server, str) else server.base_url
    values = {"corpus_dir": corpus, "index_dir": index_dir, "embedding_backend": "openai",
              "embedding_base_url": base_url, "embedding_model": E5, "embedding_api_key_env": KEY_ENV,
              "embedding_timeout": 20.0, "embedding_max_retries": 2, **overrides}
    return Settings.load(**values)


def test_hosted_backend_builds_and_answers_end_to_end(corpus, tmp_path, embedder, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with EmbeddingServer(embedder) as server:
        settings = hosted(server, corpus, tmp_path / "index", embedding_batch_size=4)
        build_index(settings, **QUIET)
        answer = Answerer.from_settings(settings, backend="extractive").ask("Hva sier politiet om ressurser?")
        hits = Retriever(load_index(settings.index_dir), make_embedder(settings)).search("ventetid for LAR", k=1).hits
    index = load_index(settings.index_dir)
    assert {k: index.manifest["embedding"][k] for k in ("backend", "model", "dim")} == \
        {"backend": "openai", "model": E5, "dim": 384}
    assert answer.citations and answer.citations[0].doc_id == "politi"
    assert hits[0].chunk.doc_id == "helse"
    # The server got e5's prompts in the text, batches of at most 4, and the key as a bearer token.
    bodies = [request["body"] for request in server.requests]
    sent = [text for body in bodies for text in body["input"]]
    assert all(body["model"] == E5 and 1 <= len(body["input"]) <= 4 for body in bodies)
    assert any(t.startswith("passage: ") for t in sent) and any(t.startswith("query: ") for t in sent)
    assert all(request["headers"]["Authorization"] == f"Bearer {KEY}" for request in server.requests)
    # Unit vectors, the local model's own up to float noise.
    local = embedder.encode_passages([c.embedding_text() for c in index.chunks], progress=False)
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)
    assert np.sum(local * index.vectors, axis=1).min() >= 0.999


def test_rate_limits_and_server_errors_are_retried(embedder):
    with EmbeddingServer(embedder, ["429", "500", "ok"]) as server:
        vectors = make_embedder(hosted(server, "c", "i")).encode_queries(["politiet"])
    assert len(server.requests) == 3 and vectors.shape == (1, 384)
    assert np.dot(vectors[0], embedder.encode_queries(["politiet"])[0]) >= 0.999


@pytest.mark.parametrize("script, expected", [
    (["echo_401"], f"HTTP 401.*check the API key in the environment variable {KEY_ENV}"),
    (["500"], "HTTP 500.*gave up after 2 attempts"),
    (["malformed"], "malformed JSON"),
    (["ragged"], "vectors of different lengths"),
    (["missing"], "1 embeddings for 2 inputs"),
    (["hang"], "no reply within embedding_timeout"),
])
def test_failures_name_the_server_and_never_the_key(script, expected, embedder, caplog, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with EmbeddingServer(embedder, script) as server:
        settings = hosted(server, "c", "i", embedding_timeout=2.0, embedding_max_retries=1)
        with pytest.raises(EmbeddingError, match=expected) as raised:
            make_embedder(settings).encode_passages(["politiet", "helse"])
    message = str(raised.value)
    assert f"{server.base_url}/embeddings" in message
    assert time.monotonic() - started < 10
    for where, text in {"error": message, "logs": caplog.text}.items():
        assert KEY not in text and KEY[9:25] not in text, f"the API key leaked into the {where}"


def test_an_unreachable_server_is_a_clear_error():
    settings = hosted(f"http://127.0.0.1:{free_port()}/v1", "c", "i", embedding_max_retries=1)
    with pytest.raises(EmbeddingError, match=r"127\.0\.0\.1.*connection failed.*embedding_base_url"):
        make_embedder(settings).encode_queries(["politiet"])


def test_hosted_backend_needs_a_model_name_and_keeps_the_key_out_of_settings(monkeypatch):
    with pytest.raises(SettingsError, match="embedding_model"):
        make_embedder(Settings.load(embedding_backend="openai"))
    with pytest.raises(SettingsError, match="embedding_backend"):
        make_embedder(Settings.load(embedding_backend="remote"))
    monkeypatch.setenv(KEY_ENV, KEY)
    assert KEY not in repr(hosted("http://127.0.0.1:9/v1", "c", "i"))


def test_an_index_of_another_model_is_refused_with_how_to_rebuild(corpus, tmp_path, embedder):
    with EmbeddingServer(embedder) as server:
        built = hosted(server, corpus, tmp_path / "index")
        build_index(built, **QUIET)
        asked = hosted(server, corpus, built.index_dir, embedding_model=OTHER_MODEL)
        requests_before = len(server.requests)
        refusal = rf"index built with {E5} \(dim 384\); the settings ask for {OTHER_MODEL}.*rag index build"
        with pytest.raises(EmbeddingMismatch, match=refusal):
            ensure_index(asked, **QUIET)
        with pytest.raises(EmbeddingMismatch, match=refusal):
            Retriever(load_index(built.index_dir), make_embedder(asked))
        assert len(server.requests) == requests_before  # refused before embedding anything
        assert index_status(asked)["stale"]
        cli = _rag_search(asked, "politiet")
        assert cli.returncode == 1 and "rag index build" in cli.stderr and OTHER_MODEL in cli.stderr, cli.stderr
        # The same model name served at another dimension is refused at the first query.
        server.script = ["short"]
        retriever = Retriever(load_index(built.index_dir), make_embedder(built))
        with pytest.raises(EmbeddingMismatch, match=rf"dim 384.*{SHORT_DIM}-dimensional.*rag index build"):
            retriever.search("politiet")


def _rag_search(settings: Settings, query: str) -> subprocess.CompletedProcess:
    """`rag search QUERY` in a subprocess with the settings' embedding configuration in RAG_* variables."""
    env = {**os.environ, "RAG_EMBEDDING_BACKEND": settings.embedding_backend,
           "RAG_EMBEDDING_BASE_URL": settings.embedding_base_url, "RAG_EMBEDDING_MODEL": settings.embedding_model}
    command = [sys.executable, "-m", "rag", "search", query, "--corpus", str(settings.corpus_dir),
               "--index", str(settings.index_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
