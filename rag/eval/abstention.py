"""Abstention thresholds, calibrated on one half of the seeds questions and reported on the other.

Each question is reduced once to what the rule weighs (`rag.answer.answerability.Evidence`).
On the calibration half (`suites.halves`), `abstain_similarity` and
`abstain_similarity_unknown_name` are chosen to abstain on as many unanswerable questions as
possible while abstaining on no answerable one; within the range of values that do so, the
middle is taken, to keep a margin on both sides. The test half then gives the reported figures.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from rag.answer.answerability import Evidence, should_abstain
from rag.eval.suites import DATA_DIR, halves, load_suite

GRID = [round(0.70 + step * 0.0025, 4) for step in range(121)]  # 0.70 .. 1.00


@dataclass(frozen=True)
class Signal:
    """A question reduced to the abstention rule's inputs."""

    id: str
    answerable: bool
    similarity: float
    names_unknown: bool
    speaker_absent: bool = False
    about_named: bool = False
    only_unknown: bool = False
    missing_kind: bool = False


def question_signals(answerer) -> list[Signal]:
    """Signals of the seeds suite's answerable questions and of its unanswerable ones."""
    questions = [(q.id, q.text, True) for q in load_suite("seeds").queries]
    for line in (DATA_DIR / "seeds_unanswerable.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        questions.append((item["id"], item["q"], False))
    return [_signal(answerer, *question) for question in questions]


def _signal(answerer, question_id: str, text: str, answerable: bool) -> Signal:
    found = next(answerer.stream(text))  # retrieval only: the stream's first event
    return signal_of(answerer, found, question_id, answerable)


def signal_of(answerer, found, question_id: str, answerable: bool) -> Signal:
    """The `Signal` of a question whose retrieval (`SourcesFound`) is `found`."""
    if not found.hits:
        return Signal(question_id, answerable, 0.0, False)
    evidence = answerer.evidence_strength(found.search_query, found.hits)
    return Signal(question_id, answerable, evidence.similarity, bool(evidence.unknown), bool(evidence.absent_speakers),
                  found.about_named, evidence.only_unknown, bool(evidence.missing_kind))


def abstains(signal: Signal, low: float, high: float) -> bool:
    evidence = Evidence(signal.similarity, ["?"] if signal.names_unknown else [],
                        ["?"] if signal.speaker_absent else [], signal.only_unknown, "?" if signal.missing_kind else "")
    return should_abstain(evidence, low, high, signal.about_named)


def calibrate(signals: list[Signal]) -> tuple[float, float]:
    """(abstain_similarity, abstain_similarity_unknown_name) for `signals` (see the module docstring)."""
    answerable = [s for s in signals if s.answerable]
    unanswerable = [s for s in signals if not s.answerable]

    def caught(low: float, high: float) -> int:
        if any(abstains(s, low, high) for s in answerable):
            return -1
        return sum(abstains(s, low, high) for s in unanswerable)

    low = _middle_of_best(GRID, lambda value: max(caught(value, high) for high in GRID if high >= value))
    high = _middle_of_best([h for h in GRID if h >= low], lambda value: caught(low, value))
    return low, high


def _middle_of_best(values: list[float], score) -> float:
    scores = [score(value) for value in values]
    best = [value for value, result in zip(values, scores) if result == max(scores)]
    return best[len(best) // 2]


def rates(signals: list[Signal], low: float, high: float) -> dict:
    """Abstentions on answerable and unanswerable questions under the given thresholds."""
    answerable = [s for s in signals if s.answerable]
    unanswerable = [s for s in signals if not s.answerable]
    caught = sum(abstains(s, low, high) for s in unanswerable)
    return {"answerable_abstained": f"{sum(abstains(s, low, high) for s in answerable)}/{len(answerable)}",
            "unanswerable_abstained": f"{caught}/{len(unanswerable)}",
            "unanswerable_share": round(caught / max(len(unanswerable), 1), 3)}


def abstention_figures(answerer) -> dict:
    """Thresholds calibrated on the calibration half; rates on both halves, with the calibrated
    thresholds and with those the settings hold."""
    calibration, test = halves(question_signals(answerer))
    low, high = calibrate(calibration)
    settings = answerer.settings
    current = (settings.abstain_similarity, settings.abstain_similarity_unknown_name)
    return {"calibrated": {"abstain_similarity": low, "abstain_similarity_unknown_name": high},
            "settings": {"abstain_similarity": current[0], "abstain_similarity_unknown_name": current[1]},
            "calibration": rates(calibration, *current), "test": rates(test, *current),
            "test_with_calibrated": rates(test, low, high)}
