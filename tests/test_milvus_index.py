"""A Milvus-backed index: same retrieval as FAISS exact on the seeds, atomic versions, pruned collections."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import OPED, REPORT

from rag.eval.suites import load_suite
from rag.index import build_index, load_index, update_index, vector_id
from rag.index.files import current_version
from rag.index.store.milvus import MilvusConfig, MilvusStore, connect
from rag.retrieval import Filters, RetrievalConfig, Retriever

pytestmark = pytest.mark.slow
QUIET = {"progress": lambda message: None}
POLICE = ("4. Hva sier tjenestene og brukerorganisasjonene om stigma og diskriminering?",
          "Politi: Ressursmangel, politiets mandat og kommunikasjonsutfordringer")


@pytest.fixture(scope="module", params=["flat", "hnsw"])
def milvus_seed_index(request, seed_index, tmp_path_factory):
    """The seed index with its vectors in a Milvus Lite collection instead of FAISS."""
    uri = str(tmp_path_factory.mktemp("milvus") / "milvus.db")
    store = MilvusStore.create(MilvusConfig(uri), seed_index.vectors.shape[1], request.param, "v-seeds")
    ids = np.array([vector_id(c.id) for c in seed_index.chunks], dtype=np.int64)
    store.add(ids, seed_index.vectors, [(c.doc_id, c.section_path) for c in seed_index.chunks])
    return replace(seed_index, store=store)


def _top_ids(index, embedder, query, method="hybrid", filters=Filters(), k=10):
    retriever = Retriever(index, embedder, RetrievalConfig(method=method))
    return [hit.chunk.id for hit in retriever.search(query, k=k, filters=filters).hits]


@pytest.mark.parametrize("method", ["dense", "hybrid"])
def test_seed_questions_get_the_same_top_hits_as_faiss_exact(seed_index, milvus_seed_index, embedder, method):
    assert seed_index.store.kind == "flat" and milvus_seed_index.store.filters_in_engine
    for query in load_suite("seeds").queries:
        assert (_top_ids(milvus_seed_index, embedder, query.text, method)
                == _top_ids(seed_index, embedder, query.text, method)), query.id


@pytest.mark.parametrize("filters", [Filters(doc_ids=frozenset({OPED})), Filters(section_prefix=POLICE),
                                     Filters(doc_ids=frozenset({REPORT}), section_prefix=POLICE[:1])])
def test_filtered_search_in_milvus_matches_faiss(seed_index, milvus_seed_index, embedder, filters):
    for query in load_suite("seeds").queries[:12]:
        milvus = _top_ids(milvus_seed_index, embedder, query.text, filters=filters)
        assert milvus == _top_ids(seed_index, embedder, query.text, filters=filters), query.id
        assert all(filters.allows(milvus_seed_index.chunks[milvus_seed_index.row_of_vector[vector_id(c)]])
                   for c in milvus)


def _corpus(folder, police_text):
    folder.mkdir(exist_ok=True)
    (folder / "a.md").write_text(f"# Politi\n\n{police_text}\n\n# Helse\n\nHelsepersonell mangler tid.\n",
                                 encoding="utf-8")
    return folder


def test_index_build_and_updates_publish_one_collection_per_version(tmp_path, settings_factory, embedder):
    uri = str(tmp_path / "milvus.db")
    corpus = _corpus(tmp_path / "corpus", "Politiet har for lite ressurser.")
    settings = settings_factory(corpus_dir=corpus, vector_store="milvus", milvus_uri=uri)
    build_index(settings, embedder, **QUIET)
    first = load_index(settings.index_dir)
    assert first.manifest["store"]["backend"] == "milvus" and first.manifest["store"]["uri"] == uri
    hits = Retriever(first, embedder).search("police resources", k=1, filters=Filters(section_prefix=("Politi",)))
    assert "ressurser" in hits.hits[0].chunk.text
    for text in ("Politiet har for få folk.", "Politiet mangler penger."):
        _corpus(corpus, text)
        assert update_index(settings, embedder, **QUIET).changed
    latest = load_index(settings.index_dir)
    assert latest.folder == current_version(settings.index_dir) and "penger" in latest.chunks[0].text
    live = {load_index(settings.index_dir).manifest["store"]["collection"]}
    versions = sorted(settings.index_dir.glob("v-*"))
    assert len(versions) == 2
    live |= {(v / "vectors" / "store.json").read_text().split('"collection": "')[1].split('"')[0] for v in versions}
    collections = set(connect(uri, 10).list_collections())
    assert first.manifest["store"]["collection"] not in collections, "the pruned version's collection is dropped"
    assert collections == live


def test_a_build_that_dies_while_filling_its_collection_leaves_nothing_behind(
        tmp_path, settings_factory, embedder, monkeypatch):
    uri = str(tmp_path / "milvus.db")
    corpus = _corpus(tmp_path / "corpus", "Politiet har for lite ressurser.")
    settings = settings_factory(corpus_dir=corpus, vector_store="milvus", milvus_uri=uri)
    build_index(settings, embedder, **QUIET)
    published = set(connect(uri, 10).list_collections())

    def dies(self, *args, **kwargs):
        raise KeyboardInterrupt  # as if the process were stopped while inserting
    _corpus(corpus, "Politiet har for få folk.")
    with monkeypatch.context() as patch:
        patch.setattr(MilvusStore, "add", dies)
        with pytest.raises(KeyboardInterrupt):
            update_index(settings, embedder, **QUIET)
    orphans = set(connect(uri, 10).list_collections()) - published
    assert len(orphans) == 1 and list(settings.index_dir.glob(".building-*"))
    assert update_index(settings, embedder, **QUIET).changed
    left = set(connect(uri, 10).list_collections())
    assert not orphans & left and len(left) == 2 and not list(settings.index_dir.glob(".building-*"))
