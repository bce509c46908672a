"""Free-form answers: the model writes the whole answer and places `[n]` itself (for strong hosted models).

Its markers are resolved to quotes (`rag.answer.citations`), and every sentence then goes
through the same support check as an evidence-first one; an unsupported sentence is kept
and marked, with its reason, in the chat, the JSON and the exports. A failing backend falls
back to the extractive answer with a notice; a runaway one is cut at the answer limit.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator

from rag.answer.backends.base import Backend, BackendError, Prompt
from rag.answer.citations import MIN_CITATION_SIMILARITY, Resolved, resolve
from rag.answer.events import Finished, TextDelta, Turn
from rag.answer.evidence import citation_evidence
from rag.answer.prompt import NO_ANSWER_PATTERN
from rag.answer.support import UNCITED, UNSUPPORTED, Evidence, SupportChecker
from rag.types import Answer, AnswerSentence, Source

if TYPE_CHECKING:
    from rag.answer.answerer import Answerer

FALLBACK_NOTICE = "The {backend} backend failed ({error}); this answer was composed by the extractive backend."
# A server that ignores max_tokens is cut off here: tokens average about 4 characters in
# English and Norwegian, so 6 leaves an honest answer room to finish.
CHARS_PER_TOKEN_CAP = 6
CUT_NOTICE = "The {backend} backend went past the {tokens}-token answer limit; its answer was cut there."


def generate(answerer: "Answerer", turn: Turn, prompt: Prompt) -> Iterator:
    """TextDelta pieces as the backend writes, then Finished with citations and checked sentences."""
    started = time.perf_counter()
    parts: list[str] = []
    backend, notices = answerer.backend, []
    try:
        for delta in _capped(backend, prompt, turn.deadline, answerer.settings.llm_max_answer_tokens, notices):
            turn.timings.setdefault("first_token", (time.perf_counter() - started) * 1000)
            parts.append(delta)
            yield TextDelta(delta)
        if not "".join(parts).strip():
            raise BackendError("it returned an empty answer")
    except BackendError as error:
        notices.append(FALLBACK_NOTICE.format(backend=backend.name, error=error))
        parts, backend = [], answerer.extractive
        yield TextDelta("\n\n")
        for delta in answerer.extractive.stream(prompt):
            parts.append(delta)
            yield TextDelta(delta)
    turn.timings["generate"] = (time.perf_counter() - started) * 1000
    yield Finished(_finish(answerer, turn, prompt, "".join(parts), backend.name, notices))


def _capped(backend: Backend, prompt: Prompt, deadline: float, tokens: int, notices: list[str]) -> Iterator[str]:
    """The backend's deltas within the time left, cut off past the answer limit."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BackendError("no time was left for an answer within llm_timeout")
    stream, length = backend.stream(prompt, tokens, remaining), 0
    try:
        for delta in stream:
            delta = delta[: max(tokens * CHARS_PER_TOKEN_CAP - length, 0)]
            length += len(delta)
            if delta:
                yield delta
            if length >= tokens * CHARS_PER_TOKEN_CAP:
                notices.append(CUT_NOTICE.format(backend=backend.name, tokens=tokens))
                return
    finally:
        close = getattr(stream, "close", None)  # stop a runaway server now, not when collected
        if close is not None:
            close()


def _finish(answerer: "Answerer", turn: Turn, prompt: Prompt, text: str, backend: str, notices: list[str]) -> Answer:
    started = time.perf_counter()
    resolved = resolve(text, prompt.sources, answerer.index.documents, answerer.sentence_similarity,
                       MIN_CITATION_SIMILARITY)
    if resolved.dropped_markers:
        notices.append("Removed citations of sources that do not exist: "
                       + ", ".join(f"[{n}]" for n in resolved.dropped_markers))
    if not resolved.citations and (not text.strip() or NO_ANSWER_PATTERN.search(text)):
        return answerer.abstention(turn, backend, notices)
    turn.timings["cite"] = (time.perf_counter() - started) * 1000
    sentences = checked_sentences(answerer, resolved, prompt.sources)
    turn.timings["check"] = (time.perf_counter() - started) * 1000 - turn.timings["cite"]
    return Answer(turn.question, resolved.text.strip(), turn.language, False, backend, resolved.citations,
                  resolved.uncited_sentences, [], notices, turn.search_query, dict(turn.timings), sentences, "free")


def checked_sentences(answerer: "Answerer", resolved: Resolved, sources: list[Source]) -> list[AnswerSentence]:
    """Every claim of a resolved answer with its support verdict."""
    checked = []
    for claim, numbers, citations in resolved.claims:
        if not numbers:
            checked.append(AnswerSentence(claim, (), UNCITED, "no source is cited"))
        elif not citations:
            reason = unresolved_reason(answerer.checker, claim, numbers, sources)
            checked.append(AnswerSentence(claim, numbers, UNSUPPORTED, reason))
        else:
            evidence = [citation_evidence(c, answerer.index) for c in citations]
            verdict = answerer.checker.check(claim, evidence)
            checked.append(AnswerSentence(claim, numbers, verdict.support, verdict.reason))
    return checked


def unresolved_reason(checker: SupportChecker, claim: str, numbers: tuple[int, ...], sources: list[Source]) -> str:
    """Why no sentence of the cited chunks supports the claim: the check's reason against the whole
    chunks when it has one ("number 10 billion is not in source [1]"), else that they do not say it."""
    chunks = [s for s in sources if s.n in numbers]
    evidence = [Evidence(s.n, s.chunk.text, " › ".join(s.chunk.section_path)) for s in chunks]
    verdict = checker.check(claim, evidence) if evidence else None
    if verdict is not None and not verdict.supported:
        return verdict.reason
    return ("source " if len(numbers) == 1 else "sources ") + ", ".join(f"[{n}]" for n in numbers) + \
        " does not say this"
