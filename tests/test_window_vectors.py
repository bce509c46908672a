"""Sentence-window vectors added up from sentences encoded once (rag.index.vectors, window_vectors)."""
from __future__ import annotations

import numpy as np
import pytest

from rag.errors import SettingsError
from rag.index import build_index, load_index, update_index
from rag.index.chunking import sentence_spans

pytestmark = pytest.mark.slow
QUIET = {"progress": lambda message: None}


def _corpus(folder):
    folder.mkdir()
    (folder / "r.md").write_text(
        "# Rapport\n\n## Politi\n\nPolitiet mangler tid. Etterforskning blir nedprioritert. Ressursene er få.\n\n"
        "## Kort\n\nEn setning alene.\n", encoding="utf-8")
    return folder


def _unit(vectors):
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_token_sums_point_where_the_model_s_own_vectors_point(fp32_embedder):
    embedder = fp32_embedder  # bf16: tests/test_embedding_precision.py
    texts = ["Politiet mangler tid.", "Health personnel describe long waiting times for treatment."]
    assert np.allclose(_unit(embedder.encode_passage_sums(texts)), embedder.encode_passages(texts), atol=1e-5)


def test_a_window_is_the_normalised_sum_of_its_sentences(tmp_path, settings_factory, fp32_embedder):
    embedder = fp32_embedder
    settings = settings_factory(corpus_dir=_corpus(tmp_path / "corpus"), window_vectors="sentences")
    build_index(settings, embedder, **QUIET)
    index = load_index(settings.index_dir)
    checked = 0
    for n, (row, (start, end)) in enumerate(zip(index.windows.rows, index.windows.spans)):
        chunk = index.chunks[row]
        sentences = [chunk.text[a - chunk.start:b - chunk.start] for a, b in sentence_spans(chunk.text, chunk.start)
                     if a >= start and b <= end]
        expected = _unit(embedder.encode_passage_sums(sentences).sum(axis=0))
        assert np.allclose(index.windows.vectors[n], expected, atol=1e-5), (chunk.text, sentences)
        checked += 1
    single = [n for n, row in enumerate(index.windows.rows) if index.chunks[row].text.strip() == "En setning alene."]
    assert checked >= 3 and single
    # A one-sentence window is exactly what encoding its text gives.
    assert np.allclose(index.windows.vectors[single[0]], embedder.encode_passages(["En setning alene."])[0], atol=1e-5)


def test_encoded_windows_are_the_default_and_switching_rebuilds(tmp_path, settings_factory, embedder):
    settings = settings_factory(corpus_dir=_corpus(tmp_path / "corpus"))
    build_index(settings, embedder, **QUIET)
    index = load_index(settings.index_dir)
    texts = [index.chunks[row].text[start - index.chunks[row].start:end - index.chunks[row].start]
             for row, (start, end) in zip(index.windows.rows, index.windows.spans)]
    assert np.allclose(index.windows.vectors, embedder.encode_passages(texts), atol=1e-5)
    report = update_index(settings_factory(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir,
                                           window_vectors="sentences"), embedder, **QUIET)
    assert report.rebuilt and "window_vectors" in report.reason


def test_an_unknown_window_vectors_value_names_the_setting(tmp_path, settings_factory, embedder):
    settings = settings_factory(corpus_dir=_corpus(tmp_path / "corpus"), window_vectors="late")
    with pytest.raises(SettingsError, match="window_vectors 'late'; use one of sentences, encoded"):
        build_index(settings, embedder, **QUIET)


def test_a_build_reports_where_its_time_went(tmp_path, settings_factory, embedder):
    report = build_index(settings_factory(corpus_dir=_corpus(tmp_path / "corpus")), embedder, **QUIET)
    assert {"loading", "chunking", "chunk encoding", "window encoding", "vector store", "bm25", "perspectives",
            "writing"} == set(report.timings)
    assert sum(report.timings.values()) <= report.seconds + 0.05
    assert report.timings["chunk encoding"] > 0 and report.timings["window encoding"] > 0
