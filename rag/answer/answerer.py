"""The answering pipeline: question -> standalone query -> retrieve -> prompt -> stream -> Answer.

`Answerer.stream` yields events as they happen (sources found, text deltas, the final
answer); `Answerer.ask` returns only the final `Answer`. Retrieval that finds nothing
close enough ends in an honest abstention with the closest passages; a failing backend
falls back to the extractive answer with a visible notice.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from rag.answer.answerability import should_abstain, unknown_names
from rag.answer.backends.base import Backend, BackendContext, BackendError, Prompt
from rag.answer.backends.registry import create_backend
from rag.answer.citations import resolve
from rag.answer.extractive import ExtractiveBackend
from rag.answer.followup import rewrite_follow_up, rewrite_with_llm
from rag.answer.prompt import NO_ANSWER, build_prompt
from rag.embedding.embedder import Embedder
from rag.index import Index, ensure_index
from rag.language import detect_language
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.types import Answer, Filters, Hit

ABSTAIN_TEXT = {
    "en": "The documents do not seem to answer this question. The closest passages are listed below.",
    "no": "Dokumentene ser ikke ut til å svare på dette spørsmålet. De nærmeste avsnittene står under.",
}
FALLBACK_NOTICE = "The {backend} backend failed ({error}); this answer was composed by the extractive backend."
NO_ANSWER_PATTERN = re.compile(
    r"(sources|documents) (do|does) not (answer|contain|mention|say)|kildene svarer ikke|"
    r"(kildene|dokumentene) (sier|nevner|inneholder) ikke", re.IGNORECASE)
CLOSEST = 3
# A server that ignores max_tokens is cut off here: tokens average about 4 characters in
# English and Norwegian, so 6 leaves an honest answer room to finish.
CHARS_PER_TOKEN_CAP = 6
CUT_NOTICE = "The {backend} backend went past the {tokens}-token answer limit; its answer was cut there."
# Share of `llm_timeout` a follow-up rewrite may use; the answer gets what is left.
REWRITE_SHARE = 0.25


@dataclass
class SourcesFound:
    """Retrieval finished: the hits the answer will draw on."""

    hits: list[Hit]
    search_query: str


@dataclass
class TextDelta:
    """A piece of answer text as the backend produced it."""

    text: str


@dataclass
class Finished:
    """The final, post-processed answer."""

    answer: Answer


@dataclass
class _Turn:
    question: str
    search_query: str
    language: str
    hits: list[Hit]
    timings: dict = field(default_factory=dict)
    deadline: float = 0.0  # monotonic time by which the backend must be done


class Answerer:
    """Answers questions with one retriever and one backend (and the extractive fallback).

    It is handed its retriever, so a test or another front end can give it any index;
    `from_settings` builds the usual one (loading or building the index).
    """

    def __init__(self, settings: Settings, retriever: Retriever, backend: Backend | str | None = None):
        self.settings = settings
        self.retriever = retriever
        self.extractive = ExtractiveBackend(retriever.passages)
        self.backend = self._backend(backend or settings.backend)

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend | str | None = None,
                      embedder: Embedder | None = None) -> "Answerer":
        """An answerer over the index of `settings`, built first when it is missing or stale."""
        embedder = embedder or Embedder(settings)
        return cls(settings, Retriever(ensure_index(settings, embedder), embedder), backend)

    @property
    def index(self) -> Index:
        """The loaded index the answers come from."""
        return self.retriever.index

    @property
    def embedder(self) -> Embedder:
        """The embedding model shared by retrieval and citation resolution."""
        return self.retriever.embedder

    def _backend(self, backend: Backend | str) -> Backend:
        if not isinstance(backend, str):
            return backend
        if backend == "extractive":
            return self.extractive
        return create_backend(backend, BackendContext(self.settings, self.embedder, self.retriever))

    def ask(self, question: str, history: list[dict] | None = None, **options) -> Answer:
        """The final answer (see `stream` for the options)."""
        for event in self.stream(question, history, **options):
            if isinstance(event, Finished):
                return event.answer
        raise RuntimeError("the answer stream ended without a final answer")

    def stream(self, question: str, history: list[dict] | None = None, k: int | None = None,
               filters: Filters = Filters(), language: str | None = None) -> Iterator:
        """Yield SourcesFound, then TextDelta pieces, then Finished (k: sources; default `answer_sources`)."""
        k = k or self.settings.answer_sources
        question = question.strip()
        if not question:
            raise ValueError("the question is empty; type a question")
        turn = self._retrieve(question, history or [], k, filters, language)
        yield SourcesFound(turn.hits, turn.search_query)
        if self.unanswerable(turn.search_query, turn.hits):
            yield Finished(self._abstain(turn, self.backend.name))
            return
        prompt = build_prompt(question, turn.search_query, turn.hits, history or [], turn.language,
                              self.backend.context_window, self.settings.llm_max_answer_tokens)
        yield from self._generate(turn, prompt)

    def unanswerable(self, query: str, hits: list[Hit]) -> bool:
        """True when the hits are too weak evidence for `query` (see rag.answer.answerability)."""
        if not hits:
            return True
        unknown = unknown_names(query, self.index.lexical.vocabulary)
        # The best evidence among the hits, not the first hit's: the fused order mixes in BM25,
        # and abstaining must not depend on how the rankings were fused.
        best = max(hits, key=lambda hit: hit.similarity)
        same_language = detect_language(best.chunk.text) == detect_language(query)
        offset = self.settings.abstain_same_language_offset if same_language else 0.0
        return should_abstain(best.similarity - offset, unknown, self.settings.abstain_similarity,
                              self.settings.abstain_similarity_unknown_name)

    def _standalone(self, question: str, history: list[dict]) -> str:
        """Follow-ups become standalone queries: by the LLM when there is one, else by rule."""
        if self.backend is self.extractive:
            return rewrite_follow_up(question, history)
        budget = min(self.settings.llm_timeout * REWRITE_SHARE, 20.0)
        return rewrite_with_llm(self.backend, question, history, budget)

    def _retrieve(self, question: str, history: list[dict], k: int, filters: Filters, language: str | None) -> _Turn:
        started = time.perf_counter()
        # One LLM budget per question: a rewrite that hangs leaves the answer less time, not more.
        deadline = time.monotonic() + self.settings.llm_timeout
        search_query = self._standalone(question, history)
        rewritten = time.perf_counter()
        result = self.retriever.search(search_query, k, filters)
        turn = _Turn(question, search_query, language or detect_language(question), result.hits, deadline=deadline)
        turn.timings["rewrite"] = (rewritten - started) * 1000
        turn.timings["retrieve"] = (time.perf_counter() - rewritten) * 1000
        return turn

    def _generate(self, turn: _Turn, prompt: Prompt) -> Iterator:
        started = time.perf_counter()
        parts: list[str] = []
        backend, notices = self.backend, []
        try:
            for delta in self._capped(backend, prompt, turn.deadline, notices):
                turn.timings.setdefault("first_token", (time.perf_counter() - started) * 1000)
                parts.append(delta)
                yield TextDelta(delta)
            if not "".join(parts).strip():
                raise BackendError("it returned an empty answer")
        except BackendError as error:
            notices.append(FALLBACK_NOTICE.format(backend=backend.name, error=error))
            parts, backend = [], self.extractive
            yield TextDelta("\n\n")
            for delta in self.extractive.stream(prompt):
                parts.append(delta)
                yield TextDelta(delta)
        turn.timings["generate"] = (time.perf_counter() - started) * 1000
        yield Finished(self._finish(turn, prompt, "".join(parts), backend.name, notices))

    def _capped(self, backend: Backend, prompt: Prompt, deadline: float, notices: list[str]) -> Iterator[str]:
        """The backend's deltas within the time left, cut off past the answer limit."""
        tokens = self.settings.llm_max_answer_tokens
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

    def _finish(self, turn: _Turn, prompt: Prompt, text: str, backend: str, notices: list[str]) -> Answer:
        started = time.perf_counter()
        resolved = resolve(text, prompt.sources, self.index.documents, self.sentence_similarity)
        if resolved.dropped_markers:
            notices.append("Removed citations of sources that do not exist: "
                           + ", ".join(f"[{n}]" for n in resolved.dropped_markers))
        if not resolved.citations and (not text.strip() or NO_ANSWER_PATTERN.search(text)):
            return self._abstain(turn, backend, notices)
        turn.timings["cite"] = (time.perf_counter() - started) * 1000
        return Answer(turn.question, resolved.text.strip(), turn.language, False, backend, resolved.citations,
                      resolved.uncited_sentences, [], notices, turn.search_query, dict(turn.timings))

    def _abstain(self, turn: _Turn, backend: str, notices: list[str] | None = None) -> Answer:
        text = ABSTAIN_TEXT[turn.language]
        closest = [hit.chunk for hit in turn.hits[:CLOSEST]]
        return Answer(turn.question, text, turn.language, True, backend, [], [], closest, notices or [],
                      turn.search_query, dict(turn.timings))

    def sentence_similarity(self, claim: str, sentences) -> np.ndarray:
        """Claim-to-sentence similarity for citation resolution (symmetric: both as queries)."""
        vectors = self.embedder.encode_queries([claim, *sentences])
        return vectors[1:] @ vectors[0]


__all__ = ["Answerer", "SourcesFound", "TextDelta", "Finished", "NO_ANSWER"]
