"""The answering pipeline: question -> standalone query -> retrieve -> abstain or answer -> Answer.

`Answerer.stream` yields events as they happen (sources found, text, the final answer);
`Answerer.ask` returns only the final `Answer`. Retrieval that finds nothing close enough
ends in an honest abstention with the closest passages. Answers are evidence-first by
default (`rag.answer.evidence_first`: the code attaches citations, every sentence is
checked), or free-form (`rag.answer.free_form`: the model places `[n]`, sentences are
checked and marked) with the `answer_mode` setting.
"""
from __future__ import annotations

import time
from functools import cached_property
from typing import Iterator

import numpy as np

from rag.answer import evidence_first, free_form
from rag.answer.answerability import Evidence, evidence_strength, should_abstain
from rag.answer.backends.base import Backend, BackendContext
from rag.answer.backends.registry import create_backend
from rag.answer.events import Finished, SourcesFound, TextDelta, Turn
from rag.answer.evidence import asks_who_wrote, byline_span
from rag.answer.extractive import ExtractiveBackend
from rag.answer.followup import rewrite_follow_up, rewrite_with_llm, without_markup
from rag.answer.layout_request import without_layout_request
from rag.answer.ordinary_words import in_sentence_case
from rag.answer.prompt import NO_ANSWER, NO_ANSWER_PATTERN, build_prompt
from rag.answer.support import SupportChecker, SupportConfig
from rag.embedding import AnyEmbedder, make_embedder
from rag.errors import SettingsError
from rag.index import Index, ensure_index
from rag.index.lexical import analyse
from rag.language import asked_language, detect_language, question_problem
from rag.retrieval import Retriever
from rag.retrieval.perspective import Mention
from rag.settings import Settings
from rag.types import Answer, Filters, Hit

ABSTAIN_TEXT = {
    "en": "The documents do not seem to answer this question. The closest passages are listed below.",
    "no": "Dokumentene ser ikke ut til å svare på dette spørsmålet. De nærmeste avsnittene står under.",
}
CLOSEST = 3
MODES = {"evidence": evidence_first.generate, "free": free_form.generate}
# Share of `llm_timeout` a follow-up rewrite may use; the answer gets what is left.
REWRITE_SHARE = 0.25


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
                      embedder: AnyEmbedder | None = None) -> "Answerer":
        """An answerer over the index of `settings`, built first when it is missing or stale."""
        embedder = embedder or make_embedder(settings)
        return cls(settings, Retriever(ensure_index(settings, embedder), embedder), backend)

    @property
    def index(self) -> Index:
        """The loaded index the answers come from."""
        return self.retriever.index

    @property
    def embedder(self) -> AnyEmbedder:
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
               filters: Filters = Filters(), language: str | None = None, mode: str | None = None) -> Iterator:
        """Yield SourcesFound, then TextDelta pieces, then Finished.

        `k`: sources to retrieve (default `answer_sources`); `mode`: "evidence" or "free"
        (default `answer_mode`); `language`: "en" or "no" (default: the question's)."""
        generate = MODES.get(mode or self.settings.answer_mode)
        if generate is None:
            raise SettingsError(f"answer mode {mode or self.settings.answer_mode!r} is unknown; use evidence or free")
        problem = question_problem(question)
        if problem:
            raise ValueError(problem)
        question = question.strip()
        turn = self._retrieve(question, history or [], k or self.settings.answer_sources, filters, language)
        yield SourcesFound(turn.hits, turn.search_query, turn.about_named)
        if self.unanswerable(turn.search_query, turn.hits, turn.about_named):
            yield Finished(self.abstention(turn, self.backend.name))
            return
        prompt = build_prompt(question, turn.search_query, turn.hits, history or [], turn.language,
                              self.backend.context_window, self.settings.llm_max_answer_tokens)
        yield from generate(self, turn, prompt)

    @cached_property
    def checker(self) -> SupportChecker:
        """The support check every answer sentence goes through."""
        config = SupportConfig(similarity=self.settings.support_similarity)
        return SupportChecker(self.embedder.encode_queries, self.index.perspectives, config)

    def unanswerable(self, query: str, hits: list[Hit], about_named: bool = False) -> bool:
        """True when the hits are too weak evidence for `query` (see rag.answer.answerability);
        never when it asks about a perspective it names as a whole (`about_named`)."""
        if not hits:
            return True
        evidence = self.evidence_strength(query, hits)
        return should_abstain(evidence, self.settings.abstain_similarity, self.settings.abstain_similarity_unknown_name,
                              about_named)

    def evidence_strength(self, query: str, hits: list[Hit]) -> Evidence:
        """What the abstention rule weighs for `query` and its (non-empty) hits."""
        return evidence_strength(query, hits, self.known_terms, self.settings.abstain_same_language_offset)

    @cached_property
    def known_terms(self) -> frozenset[str]:
        """The terms of the indexed text and of what its perspectives are called: the publication
        and genre of an op-ed ("VG", "kronikk") stand in no indexed text, so "Hva mener
        VG-kronikken om LAR?" abstained for naming something the corpus lacks."""
        forms = [form for perspective in self.index.perspectives.perspectives for form in perspective.forms]
        return frozenset(self.index.lexical.vocabulary).union(*map(analyse, forms))

    def _standalone(self, question: str, history: list[dict]) -> str:
        """Follow-ups become standalone queries: by the LLM when there is one, else by rule; pasted
        markup and a request for the answer's layout are left out of the query, and one typed in
        Title Case or capitals is searched in sentence case (the question is shown as typed)."""
        question = in_sentence_case(without_layout_request(without_markup(question) or question))
        if self.backend is self.extractive:
            return rewrite_follow_up(question, history)
        budget = min(self.settings.llm_timeout * REWRITE_SHARE, 20.0)
        return rewrite_with_llm(self.backend, question, history, budget)

    def _retrieve(self, question: str, history: list[dict], k: int, filters: Filters, language: str | None) -> Turn:
        started = time.perf_counter()
        # One LLM budget per question: a rewrite that hangs leaves the answer less time, not more.
        deadline = time.monotonic() + self.settings.llm_timeout
        search_query = self._standalone(question, history)
        rewritten = time.perf_counter()
        result = self.retriever.search(search_query, k, filters)
        language = language or asked_language(question) or detect_language(question)
        # A byline answers who wrote, whatever its similarity: "Who wrote the article in VG and what is
        # their background?" abstained.
        bylines = self.bylines_asked(search_query, result.speakers)
        hits = self._with_bylines(bylines, result.hits)[:k]
        turn = Turn(question, search_query, language, hits, result.speakers, result.about_named or bool(bylines),
                    deadline=deadline)
        turn.timings["rewrite"] = (rewritten - started) * 1000
        turn.timings["retrieve"] = (time.perf_counter() - rewritten) * 1000
        return turn

    def bylines_asked(self, query: str, speakers: list[Mention]) -> set[str]:
        """The authored documents the question names and asks who wrote ("Who wrote the op-ed?",
        "Who are Clausen and Waal?")."""
        if not asks_who_wrote(query):
            return set()
        named = {m.perspective.doc_id for m in speakers if not m.perspective.section_prefix}
        return {doc_id for doc_id in named if self.index.documents[doc_id].meta.get("authors")}

    def _with_bylines(self, documents: set[str], hits: list[Hit]) -> list[Hit]:
        """The hits after the bylines of `documents` they lack: "Who wrote the op-ed?" ranked the
        op-ed's arguments above its byline."""
        chunks, known = self.index.chunks, self.index.documents
        missing = documents - {hit.chunk.doc_id for hit in hits if byline_span(known[hit.chunk.doc_id], hit.chunk)}
        bylines = [Hit(chunk, 0.0, {}, row) for row, chunk in enumerate(chunks)
                   if chunk.doc_id in missing and byline_span(known[chunk.doc_id], chunk)]
        return bylines + hits

    def abstention(self, turn: Turn, backend: str, notices: list[str] | None = None) -> Answer:
        """The honest "the documents do not answer this" with the closest passages."""
        text = ABSTAIN_TEXT[turn.language]
        closest = [hit.chunk for hit in turn.hits[:CLOSEST]]
        return Answer(turn.question, text, turn.language, True, backend, [], [], closest, notices or [],
                      turn.search_query, dict(turn.timings))

    def sentence_similarity(self, claim: str, sentences) -> np.ndarray:
        """Claim-to-sentence similarity for citation resolution (symmetric: both as queries)."""
        vectors = self.embedder.encode_queries([claim, *sentences])
        return vectors[1:] @ vectors[0]


__all__ = ["Answerer", "Finished", "NO_ANSWER", "NO_ANSWER_PATTERN", "SourcesFound", "TextDelta"]
