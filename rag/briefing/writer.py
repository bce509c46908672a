"""Briefing notes: what each stakeholder group in the corpus says about a topic, every point cited.

Groups (perspectives) come from the corpus structure (see `find_groups`). For each group
the topic is searched within the group's own sections only, so a point under "Politi"
can never cite "Helsepersonell". Measures come from sections whose heading matches
`MEASURE_HEADING`. With the extractive backend every point is a verbatim sentence; with
an LLM backend the summary and the points are written by the model and each sentence
keeps only citations that resolve to a quote (uncited sentences are left out).
`rag.briefing.export` renders a note as Markdown or Word.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field, replace

from rag.answer import NO_ANSWER_PATTERN, Answerer
from rag.answer.citations import MARKER, MIN_CITATION_SIMILARITY, answer_sentences, resolve, strip_invalid_markers
from rag.answer.evidence import citation_evidence
from rag.answer.extractive import Candidate
from rag.answer.free_form import unresolved_reason
from rag.answer.prompt import build_prompt
from rag.briefing.groups import Group, find_groups
from rag.errors import BackendError
from rag.index.chunking import sentence_spans
from rag.language import detect_language
from rag.types import Chunk, Citation, Hit, Source

# Headings of sections that propose measures, in Norwegian and English ("Tiltak mot ...").
MEASURE_HEADING = re.compile(r"^(tiltak|forslag|anbefaling|råd|measures?|recommendations?|proposals?)\b",
                             re.IGNORECASE)
# A group whose best passage is this much less similar to the topic than the corpus's best
# passage says nothing specific about it (e5-small similarities sit within a few hundredths).
GROUP_MARGIN = 0.025
HITS_PER_GROUP = 10
POINTS_PER_GROUP = 3
MEASURES_PER_GROUP = 2
SUMMARY_POINTS = 6
SUMMARY_HITS_PER_GROUP = 2
QUOTE_WORDS = (8, 40)
QUESTION = {"en": "What do {group} say about {topic}?", "no": "Hva sier {group} om {topic}?"}
SUMMARY_QUESTION = {
    "en": "Summarise in 3 to 6 short sentences what the sources say about {topic}, naming who says what.",
    "no": "Oppsummer i 3 til 6 korte setninger hva kildene sier om {topic}, og hvem som sier hva.",
}


@dataclass(frozen=True)
class Point:
    """One statement of the note with the citations that support it (numbered once the note is done)."""

    text: str
    citations: tuple[Citation, ...]
    group: str = ""

    @property
    def sources(self) -> list[int]:
        """The numbers of the sources this point cites."""
        return [c.n for c in self.citations]


@dataclass
class Perspective:
    """What one group says about the topic and what it proposes; empty lists: nothing on the topic."""

    group: Group
    points: list[Point] = field(default_factory=list)
    measures: list[Point] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        """True when the group says anything about the topic."""
        return bool(self.points or self.measures)


@dataclass
class Briefing:
    """A briefing note on a topic; `sources[n - 1]` is the citation numbered n."""

    topic: str
    language: str
    date: str
    backend: str
    documents: list[str]
    groups: list[str]
    covered: bool = True
    summary: list[Point] = field(default_factory=list)
    perspectives: list[Perspective] = field(default_factory=list)
    key_quotes: list[Point] = field(default_factory=list)
    sources: list[Citation] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


@dataclass
class _Findings:
    """A group's hits on the topic, split into statements and measures, with the extractive picks."""

    group: Group
    statements: list[Hit]
    measures: list[Hit]
    ranked: list[Point] = field(default_factory=list)  # extractive passages, best first


class BriefingWriter:
    """Writes briefing notes from one answerer's index, retriever and backend."""

    def __init__(self, answerer: Answerer):
        self.answerer = answerer
        self.settings = answerer.settings
        self.groups = find_groups(answerer.index.documents.values(), self.settings.briefing_groups)

    def write(self, topic: str, language: str | None = None, today: datetime.date | None = None) -> Briefing:
        """The note on `topic`, in `language` (default: the topic's language)."""
        topic = " ".join(topic.split())
        if not topic:
            raise ValueError("the topic is empty; type a topic such as \"lack of resources\"")
        documents = self.answerer.index.documents.values()
        note = Briefing(topic, language or detect_language(topic), (today or datetime.date.today()).isoformat(),
                        self.answerer.backend.name, [d.title for d in documents], [g.label for g in self.groups])
        best = self._best_similarity(topic)
        if best is None:
            note.covered = False
            return note
        floor = max(self.settings.abstain_similarity, best - GROUP_MARGIN)
        findings = [self._find(group, topic, floor) for group in self.groups]
        note.perspectives = [self._perspective(found, topic, note) for found in findings]
        note.summary = self._summary(findings, note)
        note.key_quotes = _key_quotes(findings, note.summary, self.answerer.index.documents)
        return _numbered(note)

    def _best_similarity(self, topic: str) -> float | None:
        """The corpus's best similarity to the topic, or None when the corpus does not cover it."""
        hits = self.answerer.retriever.search(topic, HITS_PER_GROUP).hits
        if self.answerer.unanswerable(topic, hits):
            return None
        return max(hit.similarity for hit in hits)

    def _find(self, group: Group, topic: str, floor: float) -> _Findings:
        hits = self.answerer.retriever.search(topic, HITS_PER_GROUP, group.filters).hits
        relevant = [hit for hit in hits if hit.similarity >= floor]
        found = _Findings(group, [h for h in relevant if not _is_measure(h.chunk, group)],
                          [h for h in relevant if _is_measure(h.chunk, group)])
        found.ranked = self._extract(topic, found.statements)
        return found

    def _extract(self, topic: str, hits: list[Hit]) -> list[Point]:
        """The extractive backend's picks from `hits` (sentence windows), best first."""
        if not hits:
            return []
        sources = [Source(n, hit.chunk, hit.row) for n, hit in enumerate(hits, start=1)]
        picks = self.answerer.extractive.select(topic, sources)
        return [self._passage(pick) for pick in picks]

    def _passage(self, pick: Candidate) -> Point:
        chunk = pick.source.chunk
        text = self.answerer.index.documents[chunk.doc_id].text
        return Point(text[pick.start:pick.end], (_citation(chunk, text, pick.start, pick.end),))

    def _perspective(self, found: _Findings, topic: str, note: Briefing) -> Perspective:
        measures = self._extract(topic, found.measures)[:MEASURES_PER_GROUP]
        if not found.statements or self.answerer.backend is self.answerer.extractive:
            return Perspective(found.group, found.ranked[:POINTS_PER_GROUP], measures)
        question = QUESTION[note.language].format(group=found.group.label, topic=topic)
        points = self._written(question, topic, found.statements, note)
        return Perspective(found.group, found.ranked[:POINTS_PER_GROUP] if points is None else points, measures)

    def _summary(self, findings: list[_Findings], note: Briefing) -> list[Point]:
        covered = [f for f in findings if f.ranked]
        if self.answerer.backend is not self.answerer.extractive and covered:
            hits = [hit for f in covered for hit in f.statements[:SUMMARY_HITS_PER_GROUP]]
            written = self._written(SUMMARY_QUESTION[note.language].format(topic=note.topic), note.topic, hits, note)
            if written is not None:
                return written[:SUMMARY_POINTS]
        # Extractive: each group's best passage, then their second best, until there are enough.
        rounds = [replace(f.ranked[i], group=f.group.label) for i in range(2) for f in covered if len(f.ranked) > i]
        return rounds[:max(len(covered), min(3, len(rounds)))][:SUMMARY_POINTS]

    def _written(self, question: str, topic: str, hits: list[Hit], note: Briefing) -> list[Point] | None:
        """The backend's sentences with resolved citations; None when it failed (note.notices says so)."""
        backend = self.answerer.backend
        prompt = build_prompt(question, topic, hits, [], note.language, backend.context_window,
                              self.settings.llm_max_answer_tokens)
        try:
            text = "".join(backend.stream(prompt, self.settings.llm_max_answer_tokens, self.settings.llm_timeout))
        except BackendError as error:
            notice = f"The {backend.name} backend failed ({error}); quoted passages are used instead."
            note.notices += [notice] if notice not in note.notices else []
            return None
        if NO_ANSWER_PATTERN.search(text) and not MARKER.search(text):
            return []
        return self._cited_points(text, prompt.sources, note)

    def _cited_points(self, text: str, sources: list[Source], note: Briefing) -> list[Point]:
        """One point per sentence its citations support (`rag.answer.support`); invalid markers,
        uncited and unsupported sentences go, each with a notice."""
        cleaned, dropped = strip_invalid_markers(text, {s.n for s in sources})
        if dropped:
            note.notices.append("Removed citations of sources that do not exist: "
                                + ", ".join(f"[{n}]" for n in sorted(set(dropped))))
        points = []
        for sentence in answer_sentences(cleaned):
            # The answerer's own claim-to-sentence similarity, so briefings cite exactly as answers do.
            resolved = resolve(sentence, sources, self.answerer.index.documents, self.answerer.sentence_similarity,
                               MIN_CITATION_SIMILARITY)
            claim = MARKER.sub("", sentence).strip()
            if resolved.uncited_sentences:
                note.notices.append(f"Left out a sentence without a citation: {claim}")
                continue
            evidence = [citation_evidence(c, self.answerer.index) for c in resolved.citations]
            if evidence:
                verdict = self.answerer.checker.check(claim, evidence)
                reason = "" if verdict.supported else verdict.reason
            else:
                numbers = tuple(n for _, cited, _ in resolved.claims for n in cited)
                reason = unresolved_reason(self.answerer.checker, claim, numbers, sources)
            if reason:
                note.notices.append(f"Left out a sentence its sources do not support: {claim} ({reason})")
            else:
                points.append(Point(claim, tuple(resolved.citations)))
        return points


def _is_measure(chunk: Chunk, group: Group) -> bool:
    """True for chunks in a section about measures, below the group's own heading."""
    return any(MEASURE_HEADING.match(heading) for heading in chunk.section_path[len(group.section_prefix):])


def _citation(chunk: Chunk, text: str, start: int, end: int) -> Citation:
    return Citation(0, chunk.id, chunk.doc_id, chunk.title, chunk.section_path, text[start:end], start, end)


def _key_quotes(findings: list[_Findings], summary: list[Point], documents: dict) -> list[Point]:
    """Per group, its best whole sentence of quotable length, preferably one the summary does not show."""
    shown = {c for point in summary for c in point.citations}
    quotes = []
    for found in findings:
        passages = sorted((p.citations[0] for p in found.ranked), key=lambda c: c in shown)
        sentences = (_quotable_sentence(c, documents[c.doc_id].text) for c in passages)
        quote = next((s for s in sentences if s is not None), None)
        quotes += [Point(quote.quote, (quote,), found.group.label)] if quote else []
    return quotes


def _quotable_sentence(passage: Citation, text: str) -> Citation | None:
    """The passage's first sentence that stands alone: quotable length, no half-open «quotation»."""
    for start, end in sentence_spans(text[passage.start:passage.end], passage.start):
        sentence = text[start:end]
        words = len(sentence.split())
        if QUOTE_WORDS[0] <= words <= QUOTE_WORDS[1] and sentence.count("«") == sentence.count("»"):
            return replace(passage, quote=sentence, start=start, end=end)
    return None


def _numbered(note: Briefing) -> Briefing:
    """Number the cited quotes in order of first appearance and list them as the note's sources."""
    numbers: dict[tuple[str, int, int], int] = {}

    def number(point: Point) -> Point:
        citations = []
        for citation in point.citations:
            key = (citation.doc_id, citation.start, citation.end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                note.sources.append(replace(citation, n=numbers[key]))
            citations.append(note.sources[numbers[key] - 1])
        return replace(point, citations=tuple(citations))

    note.summary = [number(p) for p in note.summary]
    for perspective in note.perspectives:
        perspective.points = [number(p) for p in perspective.points]
        perspective.measures = [number(p) for p in perspective.measures]
    note.key_quotes = [number(p) for p in note.key_quotes]
    return note
