"""How well the support check separates supported from unsupported answer sentences.

Each labelled case is an answer sentence, the verbatim quotes it cites, and whether they
support it, written and labelled by reading the seeds (never derived from the checker). Each
quote is located in the seed document, so the check sees what the answer pipeline sees: the
quote, its headings, and the perspective it lies under.

- `data/support_cases.jsonl` calibrates: the check's tests and thresholds were built on it,
  and its failures have been read.
- `data/support_cases_blind.jsonl` reports: written in the voice of a small model by someone
  who had not seen the check's failures, and measured once before its own were read (README
  says which fixes, if any, came from reading them). To improve the check, move these cases into
  the calibration file and write a new blind set; a figure from cases the check was tuned on
  says little about sentences it has not seen.
- `data/support_cases_written.jsonl` is what answers really contain: the sentences the bundled
  local model (Qwen2.5-Coder-1.5B) wrote in evidence-first answers to the seeds questions, with
  the quotes each was written from, labelled by a reader who saw neither the check nor its
  verdicts. Unlike the two sets above, whose errors were made subtle on purpose, most of these
  are plainly wrong (mistranslations, invented claims, swapped actors).
- `data/support_cases_written_fresh.jsonl` is the same for the fresh short questions, which
  neither the check nor the prompts were built on: what the model wrote under three evidence
  prompts (field `prompt`: the question shown; the question shown and the speaker insisted on;
  the evidence alone, today's), labelled the same way.

Detection recall is the share of unsupported cases flagged; the false-flag rate the share of
supported cases flagged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.answer.evidence import quote_context
from rag.answer.support import Evidence, SupportChecker
from rag.eval.suites import DATA_DIR, SuiteError, find_once
from rag.index import Index
from rag.index.perspectives import perspective_of
from rag.types import Chunk

CASES = DATA_DIR / "support_cases.jsonl"
BLIND_CASES = DATA_DIR / "support_cases_blind.jsonl"
WRITTEN_CASES = DATA_DIR / "support_cases_written.jsonl"
# What the local model wrote for the fresh short questions (rag/eval/data/fresh_questions.jsonl),
# under three evidence prompts (field "prompt"), labelled by readers who saw no verdict.
WRITTEN_FRESH_CASES = DATA_DIR / "support_cases_written_fresh.jsonl"


@dataclass(frozen=True)
class SupportCase:
    """A sentence, the evidence it cites, and the label a reader gave it."""

    id: str
    sentence: str
    evidence: tuple[Evidence, ...]
    supported: bool
    kind: str
    lang: str


def load_cases(index: Index, path: Path = CASES) -> list[SupportCase]:
    """The labelled cases in `path`, their quotes placed in the indexed seed documents."""
    by_source = {document.source: document for document in index.documents.values()}
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            document = by_source.get(row["doc"])
            if document is None:
                raise SuiteError(f"{path.name} {row['id']}: document {row['doc']!r} is not indexed")
            evidence = tuple(_evidence(index, document, quote, f"{path.name} {row['id']}") for quote in row["quotes"])
            cases.append(SupportCase(row["id"], row["sentence"], evidence, row["label"] == "supported",
                                     row["kind"], row["lang"]))
    return cases


def _evidence(index: Index, document, quote: str, case: str) -> Evidence:
    start = find_once(document.text, quote, case)
    section = document.section_at(start)
    path = section.path if section else (document.title,)
    place = Chunk("", document.id, document.source, document.title, path, quote, start, start + len(quote), 0)
    owner = perspective_of(place, index.perspectives.perspectives)
    return Evidence(1, quote, quote_context(document, path), owner.label if owner else "")


def detection(checker: SupportChecker, cases: list[SupportCase]) -> dict:
    """Recall on unsupported cases, false flags on supported ones, per kind and language."""
    flagged = {case.id: not checker.check(case.sentence, list(case.evidence)).supported for case in cases}
    unsupported = [c for c in cases if not c.supported]
    supported = [c for c in cases if c.supported]
    report = {"cases": len(cases), "unsupported": len(unsupported), "supported": len(supported),
              "recall": _share([flagged[c.id] for c in unsupported]),
              "false_flags": _share([flagged[c.id] for c in supported])}
    report["recall_by_kind"] = {kind: _share([flagged[c.id] for c in unsupported if c.kind == kind])
                                for kind in sorted({c.kind for c in unsupported})}
    report["cross_lingual"] = {"recall": _share([flagged[c.id] for c in unsupported if c.lang == "en"]),
                               "false_flags": _share([flagged[c.id] for c in supported if c.lang == "en"])}
    report["missed"] = [c.id for c in unsupported if not flagged[c.id]]
    report["false_flagged"] = [c.id for c in supported if flagged[c.id]]
    return report


def support_figures(checker: SupportChecker, index: Index) -> dict:
    """Detection on the calibration cases, the blind ones (`test`: the reported figure), both
    (`all`), and the sentences a model wrote for the seeds questions (`written`) and for fresh
    ones (`written_fresh`)."""
    calibration, blind = load_cases(index, CASES), load_cases(index, BLIND_CASES)
    return {"calibration": detection(checker, calibration), "test": detection(checker, blind),
            "all": detection(checker, calibration + blind),
            "written": detection(checker, load_cases(index, WRITTEN_CASES)),
            "written_fresh": detection(checker, load_cases(index, WRITTEN_FRESH_CASES))}


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0
