"""Hybrid retrieval on the seed index: exact terms, groups, filters, duplicates, CLI shapes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import OPED, REPORT

from rag.cli import main
from rag.eval.metrics import query_metrics
from rag.retrieval import Filters, RetrievalConfig, Retriever
from rag.retrieval.perspective import named_perspective

pytestmark = pytest.mark.slow


def test_exact_norwegian_terms_are_found(retriever):
    assert "førerkortforskriften § 36" in retriever.search("førerkort § 36", k=3).hits[0].chunk.text
    assert "Politihøgskolen" in retriever.search("Politihøgskolen", k=3).hits[0].chunk.text


def test_group_questions_resolve_to_their_group(retriever):
    for group, question in (("Politi", "What measures against stigma did the police propose?"),
                            ("Helsepersonell", "Hvilke tiltak mot stigma foreslår helsepersonellet?")):
        top = retriever.search(question, k=3).hits
        assert any(h.chunk.section_path[1].startswith(group) and
                   h.chunk.section_path[-1] == "Tiltak mot opplevd stigma og diskriminering" for h in top)


def test_filters_by_document_and_section_prefix(retriever, seed_index):
    only_oped = retriever.search("politiet", k=10, filters=Filters(doc_ids=frozenset({OPED})))
    assert only_oped.hits and {h.chunk.doc_id for h in only_oped.hits} == {OPED}
    police = next(s.path for s in seed_index.documents[REPORT].sections if s.heading.startswith("Politi:"))
    under = retriever.search("tiltak", k=10, filters=Filters(section_prefix=police))
    assert under.hits and all(h.chunk.section_path[:2] == police for h in under.hits)


def test_hits_carry_ranks_and_no_near_duplicates(retriever):
    hits = retriever.search("What did the police say about lack of resources?", k=10).hits
    assert len(hits) == 10 and all(set(h.ranks) == {"dense", "lexical"} for h in hits)
    assert all(0 < h.similarity <= 1 for h in hits)
    spans = [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits]
    for i, (doc_a, start_a, end_a) in enumerate(spans):
        for doc_b, start_b, end_b in spans[i + 1:]:
            if doc_a == doc_b:
                overlap = min(end_a, end_b) - max(start_a, start_b)
                assert overlap <= 0.5 * min(end_a - start_a, end_b - start_b)


def test_weighted_fusion_and_unknown_options(seed_index, embedder):
    weighted = Retriever(seed_index, embedder, RetrievalConfig(fusion="weighted"))
    assert weighted.search("LAR", k=3).hits
    with pytest.raises(ValueError, match="unknown fusion"):
        Retriever(seed_index, embedder, RetrievalConfig(fusion="max"))


def test_metrics_of_one_ranking():
    metrics = query_metrics([False, True, False], relevant_total=1)
    assert metrics["recall@1"] == 0 and metrics["recall@5"] == 1 and metrics["mrr@10"] == 0.5
    assert round(metrics["ndcg@10"], 4) == round(1 / 1.5849625, 4)


def test_search_cli_json_and_batch(seed_index, capsys, tmp_path):
    index_dir = str(seed_index.folder.parent)
    assert main(["search", "LAR behandling", "--k", "3", "--json", "--index", index_dir]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["query"] == "LAR behandling" and len(result["hits"]) == 3
    assert {"rank", "score", "chunk"} <= set(result["hits"][0]) and "total" in result["timings_ms"]
    assert {"id", "doc_id", "section_path", "text", "start", "end", "tokens"} <= set(result["hits"][0]["chunk"])
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "q": "LAR"}\n{"id": "b", "q": "politiet"}\n')
    assert main(["search", "--batch", str(batch), "--k", "2", "--index", index_dir]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"] and all(len(line["hits"]) == 2 for line in lines)


@pytest.mark.slow
def test_questions_that_name_a_speaker_get_its_passage_first(seed_index, embedder):
    """CI floor: the share of speaker-naming seeds questions whose first hit lies under the named
    perspective (measured 0.935 over all, 0.917 on the held-out half; without the boost 0.848)."""
    from rag.eval.perspectives import perspective_figures
    from rag.eval.suites import load_suite

    figures = perspective_figures(load_suite("seeds"), seed_index, embedder)
    assert figures["boost"]["all"]["first_under_speaker"] >= 0.9, figures["boost"]["all"]
    assert figures["boost"]["test"]["first_under_speaker"] >= 0.85, figures["boost"]["test"]
    assert figures["boost"]["all"]["first_under_speaker"] > figures["no_boost"]["all"]["first_under_speaker"]


@pytest.mark.slow
def test_seeds_recall_at_5_stays_within_003_of_the_measured_figure(seed_index, retriever):
    """Quality floor (item 12): seeds-suite recall@5 of the default (hybrid) retrieval at most 0.03
    below the figure `make bench` measured and the README reports (bench/results.json)."""
    from rag.eval.metrics import evaluate
    from rag.eval.suites import load_suite

    results = Path(__file__).resolve().parent.parent / "bench" / "results.json"
    measured = json.loads(results.read_text())["retrieval"]["seeds"]["hybrid"]["all"]["recall@5"]
    figures = evaluate(load_suite("seeds"), seed_index, retriever)
    assert figures["all"]["recall@5"] >= measured - 0.03, (figures["all"], measured)


def test_a_retriever_runs_numpys_blas_on_one_thread(retriever):
    """OpenBLAS threads left spinning after a search's small products took the cores from the
    next query's embedding (NorQuAD p50 148 ms instead of 34): a retriever turns them off."""
    from threadpoolctl import threadpool_info

    retriever.search("Hva er LAR?")
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


@pytest.mark.parametrize("question", ["What do user organizations say about the police?",
                                      "What do user organisations say about the police?"])
def test_american_spelling_names_the_same_speaker(seed_index, embedder, question):
    """Models and many readers write "organizations": the speaker is the user organisations, not the police
    the question is about."""
    named = named_perspective(question, seed_index.perspectives, embedder.encode_queries)
    assert named is not None and named.perspective.label == "Brukerorganisasjoner"


@pytest.mark.parametrize("question, named", [("Hvordan bruker politiet makt?", ["Politi"]),
                                             ("Hvem bruker LAR?", []),
                                             ("Hva bruker helsepersonell mest tid på?", ["Helsepersonell"])])
def test_the_verb_bruker_names_no_user_organisations(seed_index, embedder, question, named):
    """"bruker" (uses) shares only the first word of the compound "brukerorganisasjoner"."""
    from rag.retrieval.perspective import named_perspectives

    found = named_perspectives(question, seed_index.perspectives, embedder.encode_queries)
    assert [m.perspective.label for m in found] == named


def test_a_word_after_a_name_is_a_topic_not_part_of_the_name(retriever):
    """"Hvordan bruker politiet makt?" was taken to ask about the police as a whole: "makt" rode
    along in the span "politiet makt", so nothing seemed left to be about."""
    assert not retriever.search("Hvordan bruker politiet makt?").about_named
    assert retriever.search("What are the main points of the user organisations?").about_named
