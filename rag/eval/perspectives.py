"""Does a question that names a speaker get that speaker's passage first?

For each seeds question annotated with the perspective it names (`Query.speaker`), the
first hit of the search (which is the answer's first source) should lie under that
perspective's heading. Measured with and without the perspective boost; the boost's
thresholds are calibrated on the calibration half (`suites.halves`) and reported on the test
half, and on all questions for the record.
"""
from __future__ import annotations

from dataclasses import replace

from rag.eval.suites import Query, Suite, halves
from rag.index import Index
from rag.index.perspectives import perspective_of
from rag.retrieval import RetrievalConfig, Retriever
from rag.retrieval.perspective import PerspectiveConfig

K = 6


def first_hit_speakers(retriever: Retriever, queries: list[Query]) -> list[tuple[Query, str | None, str]]:
    """(query, perspective the search named, perspective of the first hit) for each query."""
    rows = []
    for query in queries:
        result = retriever.search(query.text, K)
        owner = perspective_of(result.hits[0].chunk, retriever.index.perspectives.perspectives) if result.hits else None
        rows.append((query, result.perspective, owner.label if owner else ""))
    return rows


def shares(rows: list[tuple[Query, str | None, str]]) -> dict:
    """First hit under the named speaker, overall and by language; how often the right speaker was named."""
    report = {"questions": len(rows), "first_under_speaker": _share([q.speaker == first for q, _, first in rows]),
              "named_correctly": _share([q.speaker == named for q, named, _ in rows])}
    for lang in ("en", "no"):
        subset = [(q, first) for q, _, first in rows if q.lang == lang]
        report[lang] = {"questions": len(subset), "first_under_speaker": _share([q.speaker == f for q, f in subset])}
    return report


def perspective_figures(suite: Suite, index: Index, embedder, config: PerspectiveConfig = PerspectiveConfig()) -> dict:
    """Shares with and without the boost on the calibration and test halves of the speaker questions,
    and how many questions that name no speaker had one named anyway."""
    named = [q for q in suite.queries if q.speaker]
    others = [q for q in suite.queries if not q.speaker]
    report = {}
    for variant, setting in (("boost", config), ("no_boost", replace(config, enabled=False))):
        retriever = Retriever(index, embedder, RetrievalConfig(perspective=setting))
        calibration, test = halves(named)
        report[variant] = {"calibration": shares(first_hit_speakers(retriever, calibration)),
                           "test": shares(first_hit_speakers(retriever, test)),
                           "all": shares(first_hit_speakers(retriever, named))}
        report[variant]["unnamed_questions"] = len(others)
        report[variant]["named_without_speaker"] = sum(
            named_label is not None for _, named_label, _ in first_hit_speakers(retriever, others))
    return report


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0
