"""Evaluation suites as plain data: a corpus of `Document`s and queries with known answers.

A query names the document that holds its answer and the character spans of that answer
in `Document.text`; a retrieved chunk is relevant when it comes from that document and
overlaps any of the spans (`is_relevant`). That works for any chunking, since every chunk
is an exact span of its document.

Suites (`load_suite(name)`):
- "seeds": the project's own seed corpus (`seeds/`, shipped as `data/seeds`) with the
  hand-written questions of `data/seeds_questions.jsonl`; the span is the question's quote.
- "norquad" / "norquad-validation": NorQuAD, Norwegian extractive QA. The corpus is every
  distinct context of both splits; the queries are the test (or validation) questions.
- "ntrex": NTREX-128 newstest2019, English lines as queries over the Norwegian (bokmål)
  translation, one document per news article.

Questions and benchmark files are package data in `rag/eval/data/` (see the README.md files there).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

from rag.errors import SuiteError
from rag.ingest import load_corpus
from rag.types import Chunk, Document, Section

# Package data, so that `rag eval` works from an installed wheel as from the checkout.
DATA_DIR = Path(__file__).resolve().parent / "data"
# The seed corpus the questions are written against (a link to the project's seeds/ folder,
# copied into the wheel when the package is built).
SEEDS_DIR = DATA_DIR / "seeds"
NORQUAD_SPLITS = ("test", "validation")
LANGS = ("en", "no")
# How far from the stated answer_start a NorQuAD answer may be found when the offset is off.
ANSWER_SEARCH_WINDOW = 300

Span = tuple[int, int]


@dataclass(frozen=True)
class Query:
    """One evaluation question and where its answer is.

    `spans` are character spans in the `Document.text` of `doc_id`; a chunk is relevant
    if it is from `doc_id` and overlaps any span. `kind` is an optional tag
    (seeds: paraphrase/group/term/plain; ntrex: headline/sentence).
    """

    id: str
    text: str
    lang: str
    doc_id: str
    spans: tuple[Span, ...]
    kind: str = ""
    # The perspective (group heading label, or a document's authors) the question names, if any.
    speaker: str = ""

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"query {self.id}: lang {self.lang!r} is not one of {', '.join(LANGS)}")
        if not self.spans or any(not 0 <= start < end for start, end in self.spans):
            raise ValueError(f"query {self.id}: needs at least one non-empty span, got {self.spans!r}")


@dataclass
class Suite:
    """A corpus and the queries to run against it.

    `notes` records data quirks met while loading (e.g. repaired answer offsets).
    """

    name: str
    documents: list[Document]
    queries: list[Query]
    notes: list[str] = field(default_factory=list)

    def documents_by_id(self) -> dict[str, Document]:
        """The corpus keyed by document id."""
        return {document.id: document for document in self.documents}


def overlaps(a: Span, b: Span) -> bool:
    """Whether two half-open character spans share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def is_relevant(chunk: Chunk, query: Query) -> bool:
    """A chunk answers a query if it is from the query's document and overlaps an answer span."""
    return chunk.doc_id == query.doc_id and any(overlaps((chunk.start, chunk.end), s) for s in query.spans)


def load_suite(name: str, data_dir: Path = DATA_DIR) -> Suite:
    """The suite called `name` (see `SUITE_NAMES`), read from `data_dir` (default: the package data).

    Questions and benchmark files come from `data_dir`; the seed corpus itself is always
    `SEEDS_DIR`. Raises SuiteError (a ValueError) for an unknown name or bad data.
    """
    loader = _LOADERS.get(name)
    if loader is None:
        raise SuiteError(f"unknown suite {name!r}; known suites: {', '.join(SUITE_NAMES)}")
    return loader(Path(data_dir))


# --- seeds -------------------------------------------------------------------------------


def _load_seeds(data_dir: Path) -> Suite:
    documents = load_corpus(SEEDS_DIR).documents
    by_source = {document.source: document for document in documents}
    rows = _read_jsonl(data_dir / "seeds_questions.jsonl")
    return Suite("seeds", documents, [_seed_query(row, by_source) for row in rows])


def _seed_query(row: dict, by_source: dict[str, Document]) -> Query:
    document = by_source.get(row["doc"])
    if document is None:
        raise SuiteError(f"seed question {row['id']}: document {row['doc']!r} is not in {SEEDS_DIR}")
    start = find_once(document.text, row["quote"], f"seed question {row['id']}")
    span = (start, start + len(row["quote"]))
    return Query(row["id"], row["q"], row["lang"], document.id, (span,), row.get("kind", ""), row.get("speaker", ""))


def halves(items: list, key=lambda item: item.id) -> tuple[list, list]:
    """(calibration, test): items whose id ends in an odd number calibrate, the others report.

    Thresholds are tuned on the first half only, and figures are reported on the second, so
    that a figure never comes from the questions its threshold was fitted to."""
    odd = [item for item in items if int("".join(c for c in key(item) if c.isdigit()) or 0) % 2]
    return odd, [item for item in items if item not in odd]


def find_once(text: str, needle: str, what: str) -> int:
    """The offset of `needle` in `text`; a SuiteError naming `what` unless it occurs exactly once."""
    first = text.find(needle) if needle else -1
    if first < 0:
        raise SuiteError(f"{what}: quote not found in the document text: {needle[:80]!r}")
    if text.find(needle, first + 1) >= 0:
        raise SuiteError(f"{what}: quote occurs more than once in the document text: {needle[:80]!r}")
    return first


# --- NorQuAD -----------------------------------------------------------------------------


def _load_norquad(split: str) -> Callable[[Path], Suite]:
    def load(data_dir: Path) -> Suite:
        documents, by_context = _norquad_corpus(data_dir)
        queries, notes = _norquad_queries(data_dir, split, by_context)
        name = "norquad" if split == "test" else f"norquad-{split}"
        return Suite(name, documents, queries, [f"{len(documents)} distinct contexts in both splits", *notes])

    return load


def _norquad_paragraphs(data_dir: Path, split: str) -> Iterator[dict]:
    data = _read_json(data_dir / "benchmarks" / "norquad" / f"{split}_dataset_flattened.json")
    for article in data["data"]:
        yield from article["paragraphs"]


def _norquad_corpus(data_dir: Path) -> tuple[list[Document], dict[str, Document]]:
    """One Document per distinct context of both splits, numbered in order of first appearance."""
    by_context: dict[str, Document] = {}
    for split in NORQUAD_SPLITS:
        for paragraph in _norquad_paragraphs(data_dir, split):
            context = paragraph["context"]
            if context not in by_context:
                doc_id = f"norquad-{len(by_context) + 1:04d}"
                meta = {"suite": "norquad", "norquad_document_id": paragraph.get("document_id"), "splits": []}
                title = paragraph.get("title") or _first_line(context)
                by_context[context] = whole_text_document(doc_id, title, f"norquad/{doc_id}", context, meta)
            splits = by_context[context].meta["splits"]
            if split not in splits:
                splits.append(split)
    return list(by_context.values()), by_context


def _norquad_queries(data_dir: Path, split: str, by_context: dict[str, Document]) -> tuple[list[Query], list[str]]:
    """The split's questions, numbered in file order (the data's own ids are not unique)."""
    queries: list[Query] = []
    notes: list[str] = []
    questions = [(paragraph, qa) for paragraph in _norquad_paragraphs(data_dir, split) for qa in paragraph["qas"]]
    for number, (paragraph, qa) in enumerate(questions, 1):
        query_id = f"nq-{split}-{number:04d}"
        document = by_context[paragraph["context"]]
        spans = []
        for answer in qa["answers"]:
            span, note = answer_span(document.text, answer["text"], answer["answer_start"])
            if note:
                notes.append(f"{query_id} (NorQuAD id {qa.get('id')}): {note}")
            if span:
                spans.append(span)
        if spans:
            queries.append(Query(query_id, qa["question"], "no", document.id, tuple(sorted(set(spans)))))
        else:
            notes.append(f"{query_id} (NorQuAD id {qa.get('id')}): dropped, no usable answer span")
    answers = sum(len(qa["answers"]) for _, qa in questions)
    summary = f"{split}: {len(queries)} of {len(questions)} questions kept; {answers} answers, {len(notes)} problems"
    return queries, [summary, *notes]


def answer_span(context: str, answer: str, start: int) -> tuple[Span | None, str]:
    """The span of `answer` in `context`, trusting `start` if it matches.

    Otherwise the occurrence of `answer` nearest to `start` (within ANSWER_SEARCH_WINDOW)
    is used. Returns the span (None if not found) and a note describing any repair.
    """
    if answer and context[start:start + len(answer)] == answer:
        return (start, start + len(answer)), ""
    found = _nearest_occurrence(context, answer, start) if answer.strip() else None
    if found is None:
        return None, f"answer {answer[:60]!r} not found near offset {start}"
    return (found, found + len(answer)), f"answer_start {start} off by {found - start}; using {found}"


def _nearest_occurrence(text: str, needle: str, near: int) -> int | None:
    low = max(0, near - ANSWER_SEARCH_WINDOW)
    high = min(len(text), near + ANSWER_SEARCH_WINDOW + len(needle))
    best, position = None, text.find(needle, low, high)
    while position >= 0:
        if best is None or abs(position - near) < abs(best - near):
            best = position
        position = text.find(needle, position + 1, high)
    return best


# --- NTREX -------------------------------------------------------------------------------


def _load_ntrex(data_dir: Path) -> Suite:
    folder = data_dir / "benchmarks" / "ntrex"
    english = _read_lines(folder / "newstest2019-src.eng.txt")
    norwegian = _read_lines(folder / "newstest2019-ref.nob.txt")
    doc_of_line = tuple(line.split("\t")[0].strip() for line in _read_lines(folder / "DOCUMENT_IDS.tsv"))
    if not len(english) == len(norwegian) == len(doc_of_line):
        raise SuiteError(f"{folder}: line counts differ (eng {len(english)}, nob {len(norwegian)}, "
                         f"DOCUMENT_IDS {len(doc_of_line)})")
    documents, line_spans = _ntrex_documents(norwegian, doc_of_line)
    queries = [_ntrex_query(i, english[i], doc_of_line[i], line_spans[i]) for i in range(len(english))]
    return Suite("ntrex", documents, queries)


def _ntrex_documents(lines: tuple[str, ...], doc_of_line: tuple[str, ...]) -> tuple[list[Document], list[Span]]:
    """One Document per document id (lines joined by blank lines) and each line's span in it."""
    members: dict[str, list[int]] = {}
    for index, doc_id in enumerate(doc_of_line):
        members.setdefault(doc_id, []).append(index)
    documents, line_spans = [], [(0, 0)] * len(lines)
    for doc_id, indices in members.items():
        offset = 0
        for index in indices:
            line_spans[index] = (offset, offset + len(lines[index]))
            offset += len(lines[index]) + 2
        text = "\n\n".join(lines[i] for i in indices)
        meta = {"suite": "ntrex", "ntrex_document_id": doc_id, "lines": [i + 1 for i in indices]}
        documents.append(whole_text_document(doc_id, lines[indices[0]].strip(), f"ntrex/{doc_id}", text, meta))
    return documents, line_spans


def _ntrex_query(index: int, text: str, doc_id: str, span: Span) -> Query:
    kind = "headline" if span[0] == 0 else "sentence"
    return Query(f"ntrex-{index + 1:04d}", text, "en", doc_id, (span,), kind)


# --- shared ------------------------------------------------------------------------------


def whole_text_document(doc_id: str, title: str, source: str, text: str, meta: dict) -> Document:
    """A Document with `text` verbatim and one section, titled `title`, over all of it."""
    section = Section(path=(title,), start=0, end=len(text), body_start=0, body_end=len(text))
    meta = {**meta, "title": title, "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    return Document(id=doc_id, title=title, source=source, text=text, sections=[section], meta=meta)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _read_jsonl(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SuiteError(f"{path}: cannot be read ({error.strerror or error})") from error
    return [json.loads(line) for line in lines if line.strip()]


@lru_cache(maxsize=8)
def _read_json(path: Path) -> dict:
    """Parsed JSON, cached per process (callers must not modify it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SuiteError(f"{path}: cannot be read ({error.strerror or error})") from error


@lru_cache(maxsize=8)
def _read_lines(path: Path) -> tuple[str, ...]:
    """A text file's lines (LF or CRLF ends, no final empty line), cached per process."""
    try:
        text = path.read_text(encoding="utf-8")  # universal newlines: CRLF becomes LF
    except OSError as error:
        raise SuiteError(f"{path}: cannot be read ({error.strerror or error})") from error
    return tuple(text.removesuffix("\n").split("\n")) if text else ()


_LOADERS: dict[str, Callable[[Path], Suite]] = {
    "seeds": _load_seeds,
    "norquad": _load_norquad("test"),
    "norquad-validation": _load_norquad("validation"),
    "ntrex": _load_ntrex,
}
SUITE_NAMES = tuple(_LOADERS)
