"""An interrupted index build resumes: the next run embeds only what the first one had not finished."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import same_vectors

from rag.embedding import checkpoint as embedding_checkpoint
from rag.embedding.checkpoint import FOLDER
from rag.index import IndexMissing, build_index, load_index, update_index

pytestmark = pytest.mark.slow
QUIET = {"progress": lambda message: None}


class Interrupted(Exception):
    """Stands in for Ctrl-C or a killed job in the middle of embedding."""


class CountingEmbedder:
    """The real embedder, counting the passages it embeds (chunks, and sentences for the windows),
    interrupted after `calls_allowed` calls."""

    def __init__(self, embedder, calls_allowed=None):
        self.embedder, self.calls_allowed = embedder, calls_allowed
        self.calls, self.passages = 0, 0

    def encode_passages(self, texts, progress=None):
        self._count(texts)
        return self.embedder.encode_passages(texts)

    def encode_passage_sums(self, texts):
        self._count(texts)
        return self.embedder.encode_passage_sums(texts)

    def _count(self, texts):
        if self.calls == self.calls_allowed:
            raise Interrupted()
        self.calls += 1
        self.passages += len(texts)

    def __getattr__(self, name):
        return getattr(self.embedder, name)


def _corpus(folder):
    folder.mkdir()
    for n in range(3):
        paragraphs = [f"Avsnitt {p} i rapport {n} om ressurser. Politiet og helsetjenesten svarer ulikt." for p in range(4)]
        (folder / f"r{n}.md").write_text(f"# Rapport {n}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return folder


def test_interrupted_build_resumes_from_saved_shards(tmp_path, settings_factory, embedder, monkeypatch):
    monkeypatch.setattr(embedding_checkpoint, "SHARD_TEXTS", 2)
    settings = settings_factory(corpus_dir=_corpus(tmp_path / "corpus"))
    first = CountingEmbedder(embedder, calls_allowed=2)
    with pytest.raises(Interrupted):
        build_index(settings, first, **QUIET)
    with pytest.raises(IndexMissing):
        load_index(settings.index_dir)
    shards = list((settings.index_dir / FOLDER).rglob("shard-*.npz"))
    assert len(shards) == 2 and first.passages == sum(len(np.load(shard)["keys"]) for shard in shards)

    second = CountingEmbedder(embedder)
    build_index(settings, second, **QUIET)
    index = load_index(settings.index_dir)
    clean, clean_settings = CountingEmbedder(embedder), settings_factory(corpus_dir=settings.corpus_dir)
    build_index(clean_settings, clean, **QUIET)
    assert second.passages == clean.passages - first.passages, "passages of the finished shards are not embedded again"
    fresh = embedder.encode_passages([c.embedding_text() for c in index.chunks])
    assert same_vectors(index.vectors, fresh)
    assert same_vectors(index.windows.vectors, load_index(clean_settings.index_dir).windows.vectors)
    assert not (settings.index_dir / FOLDER).exists(), "shards are dropped once the version is published"

    third = CountingEmbedder(embedder)
    assert not update_index(settings, third, **QUIET).changed_anything and third.passages == 0


def test_a_build_reports_documents_counts_and_time_left(tmp_path, settings_factory, embedder, monkeypatch):
    monkeypatch.setattr(embedding_checkpoint, "STEP_TEXTS", 2)
    settings = settings_factory(corpus_dir=_corpus(tmp_path / "corpus"))
    messages: list[str] = []
    build_index(settings, embedder, progress=messages.append)
    chunk_lines = [m for m in messages if m.startswith("embedding chunks of 3 documents: ")]
    window_lines = [m for m in messages if m.startswith("embedding sentence windows: ")]
    assert chunk_lines and chunk_lines[-1].endswith("(100%)") and window_lines[-1].endswith("(100%)")
    assert any(line.endswith(" left") for line in window_lines), window_lines
