"""Abstention and retrieval on fresh short questions, typed the way staff type into a chat box.

`data/fresh_questions.jsonl` holds two sets of 80 questions (`set` 1 and 2), written by someone
who had not seen the seeds suite: most of 4-10 words, English and Norwegian, 56 answerable
(each with the verbatim quote that answers it) and 24 unanswerable on the seeds' own topics.
Nothing was tuned on them: they measure how the settings calibrated on the seeds suite
(`rag.eval.abstention`) and the retrieval built on it carry over to questions unlike its own.
"""
from __future__ import annotations

import json

from rag.eval.abstention import Signal, rates, signal_of
from rag.eval.suites import DATA_DIR, find_once, overlaps
from rag.index import Index
from rag.types import Chunk

FRESH_QUESTIONS = DATA_DIR / "fresh_questions.jsonl"
RANKS = (1, 5)


def load_fresh_questions() -> list[dict]:
    """The fresh questions, in file order."""
    return [json.loads(line) for line in FRESH_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def fresh_figures(answerer, index: Index) -> dict:
    """Per set: abstention with the thresholds the settings hold, and where the answering
    passage ranks among the hits the answerer retrieves."""
    settings = answerer.settings
    thresholds = (settings.abstain_similarity, settings.abstain_similarity_unknown_name)
    documents = {document.source: document for document in index.documents.values()}
    questions = load_fresh_questions()
    figures = {}
    for number in sorted({q["set"] for q in questions}):
        signals: list[Signal] = []
        ranks = []
        for question in (q for q in questions if q["set"] == number):
            found = next(answerer.stream(question["q"]))  # retrieval only: the stream's first event
            signals.append(signal_of(answerer, found, question["id"], question["answerable"]))
            if question["answerable"]:
                ranks.append(_rank_of_answer(documents[question["doc"]], found.hits, question))
        figures[f"set {number}"] = {**rates(signals, *thresholds), "questions": len(ranks),
                                    **{f"hit_at_{k}": round(sum(r < k for r in ranks) / len(ranks), 3) for k in RANKS}}
    return figures


def _rank_of_answer(document, hits: list, question: dict) -> int:
    """The rank of the first hit that holds the question's quote (len(hits) if none does)."""
    start = find_once(document.text, question["quote"], f"{FRESH_QUESTIONS.name} {question['id']}")
    span = (start, start + len(question["quote"]))
    return next((rank for rank, hit in enumerate(hits) if _holds(hit.chunk, document.id, span, question["quote"])),
                len(hits))


def _holds(chunk: Chunk, doc_id: str, span: tuple[int, int], quote: str) -> bool:
    # A heading answers too ("main themes from the user organisations?"): it is the chunk's section path.
    return chunk.doc_id == doc_id and (overlaps((chunk.start, chunk.end), span) or quote in chunk.section_path)
