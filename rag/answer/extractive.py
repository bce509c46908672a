"""The offline default backend: an answer composed of the sources' own best sentences.

No language model: the passages of the top sources that best answer the question
(scored with the embedding model, so an English question selects Norwegian text)
are quoted verbatim, without overlaps, grouped by source, every sentence followed by
its citation, after one lead sentence in the question's language. Deterministic and fast.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from rag.answer.backends.base import BackendContext, Prompt
from rag.index.chunking import sentence_spans
from rag.ingest.footnotes import REFERENCE
from rag.retrieval import Passage
from rag.types import Source

LEAD = {
    "en": "Here is what the sources say about this:",
    "no": "Dette sier kildene om spørsmålet:",
}
SOURCES_CONSIDERED = 5
MAX_PASSAGES = 3
MAX_PER_SOURCE = 2
# Passages scoring within this margin of the best one are included too.
SCORE_MARGIN = 0.03
# Per retrieval rank, a passage's score is lowered by this much: e5-small's similarities
# are so close (within ~0.01) that the fused retrieval order is the better tie-breaker.
RANK_PRIOR = 0.004
MIN_WORDS = 4
# A sentence that ends in a colon introduces what follows ("En av deltakerne opplever at ...:"
# before a participant's quote), and a «quote» cut in two misquotes its speaker: a passage
# takes up to this many sentences on either side to make it whole (`_whole`). With four, the
# sentence that answers "what was said about sending drug users to Bjørnøya?" was passed
# over: it stands third in a participant's quotation of eight sentences.
QUOTE_REACH = 8
# A sentence that turns against the one before it: it belongs in the quote. The turn opens it ("Men
# ...") or stands a few words in ("Ifølge brukerorganisasjonene er praksis imidlertid ...").
TURN = re.compile(r"(?:Men|Likevel|Imidlertid|Derimot|But|However|Yet|Nevertheless|Still)\b"
                  r"|(?:\S+\s+){1,5}(?:imidlertid|derimot|likevel|however|nevertheless)\b")
OPENING_QUOTES, CLOSING_QUOTES = "«“", "»”"


@dataclass(frozen=True)
class Candidate:
    """A passage of a source (a sentence window), with its similarity to the question."""

    source: Source
    start: int
    end: int
    score: float


# Sentence-level evidence for a question: (question, sources) -> scored passages
# (a `Retriever.passages`; tests can hand in any function).
PassageFinder = Callable[[str, list[Source]], list[Passage]]


class ExtractiveBackend:
    """Selects and quotes passages; `stream` yields the lead, then one paragraph per source.

    The passages come from `find_passages` (the retriever's sentence windows of each
    source), so this backend never reaches into the index itself.
    """

    name = "extractive"
    context_window = 1_000_000

    def __init__(self, find_passages: PassageFinder):
        self.find_passages = find_passages

    def stream(self, prompt: Prompt, max_tokens: int = 0, timeout: float = 0) -> Iterator[str]:
        """The composed answer, paragraph by paragraph, every sentence followed by its [n]."""
        picks = self.select(prompt.question, prompt.sources)
        yield LEAD.get(prompt.language, LEAD["en"])
        for source in dict.fromkeys(p.source for p in picks):
            spans = sorted((p.start, p.end) for p in picks if p.source == source)
            sentences = [s for start, end in spans for s in _sentences(source, start, end)]
            yield "\n\n" + " ".join(f"{text} [{source.n}]" for text in sentences)

    def select(self, question: str, sources: list[Source]) -> list[Candidate]:
        """The best passages: the top one, then others close to it, few per source, no overlaps."""
        candidates = self._candidates(question, sources[:SOURCES_CONSIDERED])
        ranked = sorted(candidates, key=lambda c: (-c.score, c.source.n, c.start))
        if not ranked:
            return []
        floor = ranked[0].score - SCORE_MARGIN
        picks: list[Candidate] = []
        for candidate in ranked:
            if len(picks) == MAX_PASSAGES or candidate.score < floor:
                break
            candidate = _whole(candidate)
            if candidate and _room_for(candidate, picks) and not _overlaps(candidate, picks):
                picks.append(candidate)
        # Only fragments of long quotations came close: the best of them, rather than no answer.
        return picks or [_whole(ranked[0], fragment=True)]

    def _candidates(self, question: str, sources: list[Source]) -> list[Candidate]:
        return [Candidate(p.source, p.start, p.end,
                          p.similarity - RANK_PRIOR * (p.source.n - 1) - (SCORE_MARGIN if _a_reference(p) else 0))
                for p in self.find_passages(question, sources)]


def _a_reference(passage: Passage) -> bool:
    """A footnote that cites a publication ("Helsedirektoratet, Førerkortveileder ... (2020), pkt. 14.").

    It says nothing its section's speakers said, yet e5 scores it close to many questions ("what
    measures do the user organisations propose?" put it first, as their answer). So it is quoted
    only when it beats the body text by the margin that admits a passage into the answer: when
    the question is about the publication itself ("when was the guideline published?")."""
    return passage.source.chunk.kind == "footnote" and bool(REFERENCE.search(passage.text))


def _text(source: Source, start: int, end: int) -> str:
    chunk = source.chunk
    return chunk.text[start - chunk.start:end - chunk.start]


def _sentences(source: Source, start: int, end: int) -> list[str]:
    """The sentences of a picked passage that are long enough to stand as a claim."""
    return [_text(source, s, e) for s, e in claim_spans(source, start, end)]


def claim_spans(source: Source, start: int, end: int) -> list[tuple[int, int]]:
    """Document spans of the sentences of a picked passage, from the first to the last that is long
    enough to stand as a claim: a short one between them ("Mye verre, egentlig.") stays, or the
    quote would skip words without showing it."""
    text = _text(source, start, end)
    found = [(start + s, start + e) for s, e in sentence_spans(text)]
    found = [_stripped(text, start, s, e) for s, e in found]
    long_enough = [i for i, (s, e) in enumerate(found) if len(text[s - start:e - start].split()) >= MIN_WORDS]
    if not long_enough:
        return [_stripped(text, start, start, end)]
    first, last = long_enough[0], long_enough[-1]
    # A short sentence that opens or closes a quotation stays ('Nothing has happened."').
    while first > 0 and _quote_depths(text[found[first][0] - start:found[last][1] - start])[0] > 0:
        first -= 1
    while last < len(found) - 1 and _quote_depths(text[found[first][0] - start:found[last][1] - start])[-1] > 0:
        last += 1
    return found[first:last + 1]


def _whole(candidate: Candidate, fragment: bool = False) -> Candidate | None:
    """The candidate with what it cannot stand without, within its chunk and at most
    QUOTE_REACH sentences away: the start of a quotation it begins inside, what a closing
    colon introduces, and the end of a quotation it leaves open. Where that is out of reach,
    the part it would complete is left out; None when nothing else would remain (a passage
    wholly inside a long quotation), unless a `fragment` will do. Done before the overlap
    test, so a sentence is never quoted twice."""
    source, chunk = candidate.source, candidate.source.chunk
    spans, depths = _layout(chunk.text, chunk.start)

    def inside_a_quote(position: int) -> bool:
        return depths[position - chunk.start] > 0

    inside = [span for span in spans if candidate.start <= span[0] and span[1] <= candidate.end]
    inside = inside or [(candidate.start, candidate.end)]
    before = [s for s, e in spans if e <= candidate.start][::-1][:QUOTE_REACH]
    after = [e for s, e in spans if s >= candidate.end][:QUOTE_REACH]
    start = next((s for s in [inside[0][0], *before] if not inside_a_quote(s)), None)
    if start is None:  # the quotation's opening is out of reach: start where it has ended
        start = next((s for s, _ in inside if not inside_a_quote(s)), None)
    if start is None:
        return Candidate(source, candidate.start, candidate.end, candidate.score) if fragment else None
    end = inside[-1][1]
    introduces = _text(source, start, end).endswith(":")
    ends = [e for e in after if not inside_a_quote(e)] if introduces else \
        [e for e in [end, *after] if not inside_a_quote(e)]
    if ends:
        end = ends[0]
    else:  # what it opens or introduces is out of reach: end before it, if anything is left
        end = next((e for _, e in reversed(inside[:-1]) if e > start and not inside_a_quote(e)), None)
    if end is None:
        return Candidate(source, start, inside[-1][1], candidate.score) if fragment else None
    return Candidate(source, start, _with_its_turn(source, spans, end, inside_a_quote), candidate.score)


def _with_its_turn(source: Source, spans, end: int, inside_a_quote: Callable[[int], bool]) -> int:
    """`end`, or the end of the next sentence when it turns against the passage ("Men vi er mange
    ... som er utålmodige ..."): without it, "the plan promises that this is a priority for the
    government" was quoted as the op-ed's praise of the government."""
    following = next(((s, e) for s, e in spans if s >= end), None)
    if following is None or inside_a_quote(following[0]) or inside_a_quote(following[1]):
        return end
    return following[1] if TURN.match(_text(source, *following)) else end


@lru_cache(maxsize=256)
def _layout(text: str, offset: int) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """A chunk's sentence spans (in document offsets, without surrounding space) and quote depths,
    worked out once for all the candidate passages of the chunk."""
    spans = tuple(_stripped(text, offset, s, e) for s, e in sentence_spans(text, offset))
    return spans, tuple(_quote_depths(text))


def _quote_depths(text: str) -> list[int]:
    """How many quotations are open before each position of `text` (and at its end): «» and “”
    nest; a straight double quote opens or closes by turns. A closing mark with no opening
    before it means the text began inside a quotation (a chunk starts mid-quote): everything
    before it is inside one more."""
    depths, nested, straight, unopened = [0], 0, False, []
    for position, char in enumerate(text):
        if char in OPENING_QUOTES:
            nested += 1
        elif char in CLOSING_QUOTES and nested == 0:
            unopened.append(position)
        elif char in CLOSING_QUOTES:
            nested -= 1
        elif char == '"':
            straight = not straight
        depths.append(nested + straight)
    for closing in unopened:
        depths[:closing + 1] = [depth + 1 for depth in depths[:closing + 1]]
    return depths


def _stripped(text: str, offset: int, start: int, end: int) -> tuple[int, int]:
    """(start, end) without the white space at either end of the span."""
    piece = text[start - offset:end - offset]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, end - (len(piece) - len(piece.rstrip()))


def _room_for(candidate: Candidate, picks: list[Candidate]) -> bool:
    return sum(p.source == candidate.source for p in picks) < MAX_PER_SOURCE


def _overlaps(candidate: Candidate, picks: list[Candidate]) -> bool:
    return any(p.source.chunk.doc_id == candidate.source.chunk.doc_id
               and p.start < candidate.end and candidate.start < p.end for p in picks)


def create(context: BackendContext) -> ExtractiveBackend:
    """Entry-point factory."""
    return ExtractiveBackend(context.retriever.passages)
