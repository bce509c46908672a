"""Evaluation suites load from the repository alone, with spans that point at the answers."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from rag.eval.suites import (
    DATA_DIR,
    SUITE_NAMES,
    Query,
    Suite,
    SuiteError,
    answer_span,
    is_relevant,
    load_suite,
    whole_text_document,
)
from rag.index.chunking import chunk_document
from rag.types import Chunk

BENCHMARKS = DATA_DIR / "benchmarks"
NORQUAD = BENCHMARKS / "norquad"
NTREX = BENCHMARKS / "ntrex"


@pytest.fixture(scope="module")
def suites():
    """Every suite, loaded once."""
    return {name: load_suite(name) for name in SUITE_NAMES}


def _raw_norquad(split: str) -> list[tuple[str, dict]]:
    """(context, qa) pairs of a split, straight from the JSON."""
    data = json.loads((NORQUAD / f"{split}_dataset_flattened.json").read_text(encoding="utf-8"))
    return [(p["context"], qa) for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _chunk(doc_id: str, start: int, end: int) -> Chunk:
    return Chunk("c", doc_id, "src", "title", ("title",), "x" * (end - start), start, end, 1)


# --- the copied data -----------------------------------------------------------------------


def test_benchmark_files_are_the_published_bytes():
    sums = [line.split() for line in (BENCHMARKS / "SHA256SUMS").read_text().splitlines() if line.strip()]
    assert len(sums) == 7
    for digest, name in sums:
        assert hashlib.sha256((BENCHMARKS / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("folder, commit, license_name", [
    ("norquad", "701f7db6a51f0264a282ce1ff8e59580251b391e", "CC0-1.0"),
    ("ntrex", "8561f6a622db9edad1217683e5c83daefd8bb2bf", "CC BY-SA 4.0"),
])
def test_benchmark_readme_gives_provenance(folder, commit, license_name):
    readme = (BENCHMARKS / folder / "README.md").read_text(encoding="utf-8")
    assert commit in readme and license_name in readme and "How we use it" in readme


# --- every suite ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_suite_loads_with_consistent_ids(suites, name):
    suite = suites[name]
    assert suite.name == name and suite.documents and suite.queries
    documents = suite.documents_by_id()
    assert len(documents) == len(suite.documents), "document ids are unique"
    assert len({q.id for q in suite.queries}) == len(suite.queries), "query ids are unique"
    assert all(q.doc_id in documents for q in suite.queries)
    assert {q.lang for q in suite.queries} <= {"en", "no"}


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_every_span_is_inside_its_document(suites, name):
    documents = suites[name].documents_by_id()
    for query in suites[name].queries:
        text = documents[query.doc_id].text
        for start, end in query.spans:
            assert 0 <= start < end <= len(text), query.id
            assert text[start:end].strip(), query.id


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_documents_have_one_valid_section_tree(suites, name):
    for document in suites[name].documents:
        assert document.sections, document.id
        for section in document.sections:
            assert 0 <= section.start <= section.body_start <= section.body_end <= section.end <= len(document.text)


@pytest.mark.parametrize("name", ["seeds", "norquad", "ntrex"])
def test_default_chunking_leaves_every_answer_retrievable(suites, name):
    suite = suites[name]
    chunks: dict[str, list[Chunk]] = {}
    for document in suite.documents:
        chunks[document.id] = chunk_document(document)
    missing = [q.id for q in suite.queries if not any(is_relevant(c, q) for c in chunks[q.doc_id])]
    assert not missing


# --- seeds ---------------------------------------------------------------------------------


def test_seeds_counts_and_languages(suites):
    queries = suites["seeds"].queries
    assert len(queries) >= 40
    share_en = sum(q.lang == "en" for q in queries) / len(queries)
    assert 0.55 <= share_en <= 0.8
    assert {q.kind for q in queries} <= {"paraphrase", "group", "term", "plain"}
    assert len(suites["seeds"].documents) == 2


def test_seed_spans_are_the_quotes(suites):
    rows = {row["id"]: row for row in map(json.loads, _lines(DATA_DIR / "seeds_questions.jsonl"))}
    documents = suites["seeds"].documents_by_id()
    assert {q.id for q in suites["seeds"].queries} == set(rows)
    for query in suites["seeds"].queries:
        row = rows[query.id]
        (start, end), = query.spans
        assert documents[query.doc_id].text[start:end] == row["quote"]
        assert query.doc_id == Path(row["doc"]).stem and query.text == row["q"] and query.kind == row["kind"]


def _seed_suite_with_quote(tmp_path: Path, quote: str) -> Suite:
    row = {"id": "x1", "q": "?", "lang": "en", "doc": "000_3c243a1dc653bf97.txt", "section": [],
           "quote": quote, "kind": "plain"}
    (tmp_path / "seeds_questions.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return load_suite("seeds", tmp_path)


def test_seed_quote_not_found_names_the_question(tmp_path):
    with pytest.raises(SuiteError, match=r"x1.*not found"):
        _seed_suite_with_quote(tmp_path, "this sentence is not in the op-ed")


def test_seed_quote_found_twice_names_the_question(tmp_path):
    with pytest.raises(SuiteError, match=r"x1.*more than once"):
        _seed_suite_with_quote(tmp_path, "politi")


# --- NorQuAD -------------------------------------------------------------------------------


def test_norquad_corpus_is_every_distinct_context_of_both_splits(suites):
    contexts = {context for split in ("test", "validation") for context, _ in _raw_norquad(split)}
    documents = suites["norquad"].documents
    # 481, although /work/shared/benchmarks/README.md says 755: the files hold 199 test and
    # 353 validation contexts, 71 of them in both.
    assert len(documents) == len(contexts) == 481
    assert {d.text for d in documents} == contexts
    assert [d.id for d in documents][:2] == ["norquad-0001", "norquad-0002"]
    assert [d.id for d in suites["norquad-validation"].documents] == [d.id for d in documents]
    for document in documents:
        assert document.title == document.text.split("\n", 1)[0].strip()
        assert document.sections[0].path == (document.title,)
        assert (document.sections[0].start, document.sections[0].end) == (0, len(document.text))


@pytest.mark.parametrize("name, split", [("norquad", "test"), ("norquad-validation", "validation")])
def test_norquad_questions_and_answer_spans(suites, name, split):
    raw = _raw_norquad(split)
    queries = suites[name].queries
    assert len(queries) == len(raw) == 472
    assert queries[0].id == f"nq-{split}-0001" and queries[-1].id == f"nq-{split}-0472"
    documents = suites[name].documents_by_id()
    exact = 0
    for query, (context, qa) in zip(queries, raw):
        document = documents[query.doc_id]
        assert document.text == context and query.text == qa["question"] and query.lang == "no"
        answers = {a["text"] for a in qa["answers"]}
        assert {document.text[s:e] for s, e in query.spans} == answers, query.id
        stated = {(a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa["answers"]}
        exact += set(query.spans) == stated
    assert exact >= 0.99 * len(queries), "answer_start offsets are (nearly) all exact"


def test_answer_span_trusts_a_correct_offset():
    assert answer_span("Oslo er hovedstaden.", "hovedstaden", 8) == ((8, 19), "")


def test_answer_span_repairs_an_offset_that_is_off():
    context = "Bergen ligger ved kysten. Bergen har mye regn."
    span, note = answer_span(context, "Bergen", 24)
    assert span == (26, 32) and "off by 2" in note


def test_answer_span_reports_a_missing_answer():
    span, note = answer_span("Trondheim ligger i Trøndelag.", "Tromsø", 3)
    assert span is None and "not found" in note


# --- NTREX ---------------------------------------------------------------------------------


def test_ntrex_counts(suites):
    suite = suites["ntrex"]
    assert len(suite.documents) == 123
    assert len(suite.queries) == 1997
    assert Counter(q.kind for q in suite.queries)["headline"] == 123
    assert all(q.lang == "en" for q in suite.queries)


def test_ntrex_spans_are_the_aligned_norwegian_lines(suites):
    english = _lines(NTREX / "newstest2019-src.eng.txt")
    norwegian = _lines(NTREX / "newstest2019-ref.nob.txt")
    doc_ids = _lines(NTREX / "DOCUMENT_IDS.tsv")
    documents = suites["ntrex"].documents_by_id()
    for index, query in enumerate(suites["ntrex"].queries):
        assert query.id == f"ntrex-{index + 1:04d}"
        assert query.text == english[index] and query.doc_id == doc_ids[index]
        (start, end), = query.spans
        assert documents[query.doc_id].text[start:end] == norwegian[index]


def test_ntrex_documents_are_paragraph_per_line(suites):
    norwegian = _lines(NTREX / "newstest2019-ref.nob.txt")
    doc_ids = _lines(NTREX / "DOCUMENT_IDS.tsv")
    for document in suites["ntrex"].documents:
        lines = [line for line, doc_id in zip(norwegian, doc_ids) if doc_id == document.id]
        assert document.text == "\n\n".join(lines)
        assert document.title == lines[0].strip() and document.sections[0].path == (document.title,)


# --- relevance and errors ------------------------------------------------------------------


def test_is_relevant_for_a_real_chunk_covering_the_span(suites):
    query = suites["norquad"].queries[0]
    document = suites["norquad"].documents_by_id()[query.doc_id]
    start, end = query.spans[0]
    covering = [c for c in chunk_document(document) if c.start <= start and end <= c.end]
    assert covering and all(is_relevant(c, query) for c in covering)


def test_is_relevant_needs_the_same_document_and_an_overlap():
    query = Query("q", "?", "en", "doc-a", ((100, 120),))
    assert is_relevant(_chunk("doc-a", 90, 101), query)
    assert is_relevant(_chunk("doc-a", 119, 200), query)
    assert is_relevant(_chunk("doc-a", 105, 110), query)
    assert not is_relevant(_chunk("doc-b", 0, 500), query)
    assert not is_relevant(_chunk("doc-a", 0, 100), query)
    assert not is_relevant(_chunk("doc-a", 120, 300), query)


def test_is_relevant_checks_every_span():
    query = Query("q", "?", "no", "d", ((0, 5), (50, 60)))
    assert is_relevant(_chunk("d", 55, 70), query)
    assert not is_relevant(_chunk("d", 10, 40), query)


def test_query_rejects_bad_language_or_spans():
    with pytest.raises(ValueError, match="lang"):
        Query("q", "?", "sv", "d", ((0, 1),))
    with pytest.raises(ValueError, match="span"):
        Query("q", "?", "en", "d", ())
    with pytest.raises(ValueError, match="span"):
        Query("q", "?", "en", "d", ((5, 5),))


def test_unknown_suite_name_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        load_suite("squad")
    message = str(error.value)
    assert "'squad'" in message
    assert all(name in message for name in ("seeds", "norquad", "norquad-validation", "ntrex"))


def test_whole_text_document_keeps_text_verbatim():
    document = whole_text_document("d1", "Tittel", "x/d1", "Tittel\nTekst.\n\n\n", {"suite": "t"})
    assert document.text == "Tittel\nTekst.\n\n\n"
    assert document.sections[0].body_end == len(document.text) and document.meta["title"] == "Tittel"
