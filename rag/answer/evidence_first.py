"""Evidence-first answers (the default): select evidence, group it by perspective, write per group, check.

The evidence is the extractive selection of sentence passages; each perspective group
becomes one part of the answer (`rag.answer.compose`): quoted under a lead offline, or
written by the model, a sentence at a time from a few of the group's quotes, with citations
the code attaches. A backend that fails mid-answer hands the quotes not yet written about to
the offline composition, with a notice; every sentence streams as soon as it is checked.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator

from rag.answer.backends.base import BackendError, Prompt
from rag.answer.compose import ComposedPart, EvidenceWriter, quoted_part, writing_parts
from rag.answer.events import Finished, TextDelta, Turn
from rag.answer.evidence import EvidenceGroup, byline_span, group_evidence, in_reading_order
from rag.answer.extractive import Candidate
from rag.answer.ordinary_words import all_known_words
from rag.language import detect_language
from rag.retrieval.perspective import stand_as_speakers
from rag.types import Answer, Source

if TYPE_CHECKING:
    from rag.answer.answerer import Answerer

FALLBACK_NOTICE = "The {backend} backend failed ({error}); the rest of this answer quotes the sources."


def generate(answerer: "Answerer", turn: Turn, prompt: Prompt) -> Iterator:
    """TextDelta per checked sentence (or group of quotes), then Finished; abstains when no passage
    is worth quoting."""
    started = time.perf_counter()
    groups, sources = in_reading_order(evidence_groups(answerer, turn, prompt), prompt.sources)
    if not groups:
        yield Finished(answerer.abstention(turn, answerer.backend.name))
        return
    writer = None if answerer.backend is answerer.extractive else EvidenceWriter(answerer.backend, answerer.checker)
    parts, notices, used = [], [], answerer.backend.name
    for group in groups:
        part = ComposedPart("")
        for piece, failure in _pieces(writer, turn, group):
            if failure:
                notices.append(FALLBACK_NOTICE.format(backend=writer.backend.name, error=failure))
                writer = None
                used = answerer.extractive.name if not parts and not part.text else used  # nothing was written
            turn.timings.setdefault("first_sentence", (time.perf_counter() - started) * 1000)
            joint = _joint(part, piece)
            yield TextDelta(("\n\n" if parts and not part.text else "") + joint + piece.text)
            part = ComposedPart(part.text + joint + piece.text, part.sentences + piece.sentences,
                                part.notices + piece.notices, piece.quoted)
        parts.append(part)
    turn.timings["generate"] = (time.perf_counter() - started) * 1000
    yield Finished(_answer(turn, sources, groups, parts, notices, used))


def evidence_groups(answerer: "Answerer", turn: Turn, prompt: Prompt) -> list[EvidenceGroup]:
    """The selected passages of the prompt's sources, grouped by perspective (the named one first)."""
    picks = _picks(answerer, turn, prompt.sources)
    # The question's own words for a speaker ("the police") only when answering in its language,
    # and spelled as words are: "waht do the polise think" named "The polise («Politi»)".
    in_its_language = detect_language(turn.search_query) == turn.language
    vocabulary = answerer.index.lexical.vocabulary
    speakers = {m.perspective: m.text if in_its_language and all_known_words(m.text, vocabulary) else ""
                for m in turn.speakers}
    return group_evidence(picks, answerer.index.documents, answerer.index.perspectives.perspectives, speakers,
                          bool(answerer.bylines_asked(turn.search_query, turn.speakers)))


def _picks(answerer: "Answerer", turn: Turn, sources: list[Source]) -> list[Candidate]:
    """The passages to answer from, with each speaker's best passage among them: "What do the police
    and the health personnel say ...?" quoted only the health personnel, and "What do the user
    organisations say about the police?" only the police, whose passages scored a little higher."""
    select = answerer.extractive.select
    picks = _bylines(answerer, turn, sources) + select(turn.search_query, sources)
    for speaker in turn.speakers if stand_as_speakers(turn.search_query, turn.speakers) else ():
        if not any(speaker.perspective.covers(pick.source.chunk) for pick in picks):
            picks += select(turn.search_query, [s for s in sources if speaker.perspective.covers(s.chunk)])[:1]
    return _by_speakers(turn, picks)


def _bylines(answerer: "Answerer", turn: Turn, sources: list[Source]) -> list[Candidate]:
    """The bylines among the sources, when the question asks who wrote ("Who wrote the VG op-ed?"
    was answered with the op-ed's arguments, or abstained)."""
    asked, documents = answerer.bylines_asked(turn.search_query, turn.speakers), answerer.index.documents
    spans = [(source, byline_span(documents[source.chunk.doc_id], source.chunk)) for source in sources
             if source.chunk.doc_id in asked]
    return [Candidate(source, *span, 1.0) for source, span in spans if span]


def _by_speakers(turn: Turn, picks: list[Candidate]) -> list[Candidate]:
    """Only the picks of the speakers the question names, when retrieval ranked one of theirs first
    ("Hvilket ansvar har kommunene ifølge kronikken?" added the police and the user organisations).
    When it did not, the named group is a topic more than a speaker, and every pick stays."""
    def spoken(chunk) -> bool:
        return any(speaker.perspective.covers(chunk) for speaker in turn.speakers)
    if not turn.hits or not spoken(turn.hits[0].chunk):
        return picks
    return [pick for pick in picks if spoken(pick.source.chunk)] or picks


def _pieces(writer: EvidenceWriter | None, turn: Turn, group: EvidenceGroup) -> Iterator[tuple[ComposedPart, str]]:
    """(piece, "") for each piece of the group's part: a written sentence per writing part; when the
    writer fails, the quotes it had not yet written about, with the reason; without a writer, the
    group's quotes."""
    if writer is None:
        yield quoted_part(group, turn.language), ""
        return
    parts = writing_parts(group)
    for done, part in enumerate(parts):
        try:
            yield writer.write(turn.search_query, part, turn.language, turn.deadline), ""
        except BackendError as error:
            unwritten = group.with_quotes([q for rest in parts[done:] for q in rest.quotes])
            yield quoted_part(unwritten, turn.language), str(error)
            return


def _joint(part: ComposedPart, piece: ComposedPart) -> str:
    """What joins a piece to its group's part so far: a space between written sentences, a line
    break between a written sentence and quotes under a lead."""
    if not part.text:
        return ""
    return "\n" if piece.quoted or part.quoted else " "


def _answer(turn: Turn, sources: list[Source], groups: list[EvidenceGroup], parts: list[ComposedPart],
            notices: list[str], backend: str) -> Answer:
    chunk_of = {source.n: source.chunk for source in sources}
    citations = [c for group in groups for c in group.citations(chunk_of)]
    sentences = [s for part in parts for s in part.sentences]
    notices = notices + [notice for part in parts for notice in part.notices]
    text = "\n\n".join(part.text for part in parts)
    return Answer(turn.question, text, turn.language, False, backend, citations, [], [], notices,
                  turn.search_query, dict(turn.timings), sentences, "evidence")
