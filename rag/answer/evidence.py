"""Evidence for an answer, grouped by perspective: who says it, in which document, and the exact quotes.

The extractive selection (`ExtractiveBackend.select`) picks the passages that best answer
the question; here they are grouped by the perspective they lie under (a speaker group's
section, or an op-ed's authors), the group the question names first. Every group knows its
citations (one per quoted sentence, `quote == document.text[start:end]`), the `Evidence` the
support check needs, and the lead line that names the source in the question's language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.answer.extractive import Candidate, claim_spans
from rag.answer.support import Evidence
from rag.index.lexical import analyse
from rag.index.perspectives import GENRES, Perspective, perspective_of
from rag.types import Chunk, Citation, Document, Source

TITLE_CHARS = 60
# Who wrote a document, or where its authors work: the byline answers it.
WHO_WROTE = re.compile(r"\b(who|whom|hvem)\b.*\b(wr[io]te|written|writes?|authors?|skr[ie]v\w*|\w*forfatter\w*)",
                       re.IGNORECASE)
WHO_IS = re.compile(r"\b(?:who|hvem)\s+(?:is|are|was|were|er|var)\b", re.IGNORECASE)
AFFILIATION = re.compile(r"\b(affiliat\w*|institution\w*|universit\w*|tilknyttet|arbeidssted|background|bakgrunn)\b"
                         r"|\bwhere (?:do|does|did) \w+(?: \w+)? work\b|\bhvor jobber\b|\bwho (?:is|are) behind\b",
                         re.IGNORECASE)


@dataclass(frozen=True)
class Quote:
    """One quoted sentence of a source."""

    n: int
    start: int
    end: int
    pick: int = 0  # rank of the selected passage it was cut from (0: the best of the answer)


@dataclass
class EvidenceGroup:
    """The quotes of one perspective (or of one document, when no perspective holds them)."""

    document: Document
    perspective: Perspective | None
    section_path: tuple[str, ...]
    quotes: list[Quote]
    mention: str = ""  # how the question named this perspective ("the police"), if it did

    @property
    def numbers(self) -> list[int]:
        """The source numbers this group cites, in order."""
        return list(dict.fromkeys(q.n for q in self.quotes))

    def with_quotes(self, quotes: list[Quote]) -> "EvidenceGroup":
        """The same perspective with only `quotes` (in document order)."""
        return replace(self, quotes=sorted(quotes, key=lambda q: q.start))

    def text_of(self, quote: Quote) -> str:
        """The quoted sentence, verbatim."""
        return self.document.text[quote.start:quote.end]

    def citations(self, chunk_of: dict[int, object]) -> list[Citation]:
        """One citation per quoted sentence (`chunk_of`: source number -> its chunk)."""
        cited = []
        for quote in self.quotes:
            chunk = chunk_of[quote.n]
            cited.append(Citation(quote.n, chunk.id, chunk.doc_id, chunk.title, chunk.section_path,
                                  self.text_of(quote), quote.start, quote.end))
        return cited

    def evidence(self) -> list[Evidence]:
        """The quotes as the support check reads them."""
        context = quote_context(self.document, self.section_path)
        label = self.perspective.label if self.perspective else ""
        return [Evidence(q.n, self.text_of(q), context, label) for q in self.quotes]

    def quoted(self) -> str:
        """The quotes, each followed by its marker."""
        return " ".join(f"{self.text_of(q)} [{q.n}]" for q in self.quotes)


def citation_evidence(citation: Citation, index) -> Evidence:
    """A resolved citation as the support check reads it: the quote, its headings, its perspective."""
    document = index.documents[citation.doc_id]
    owner = perspective_of(citation, index.perspectives.perspectives)
    return Evidence(citation.n, citation.quote, quote_context(document, citation.section_path),
                    owner.label if owner else "")


def quote_context(document: Document, section_path: tuple[str, ...]) -> str:
    """What stands around a quote for the support check: the document's title, its byline (the
    authors and their affiliation: "Clausen and Waal of SERAF" names them as the byline does),
    where and as what it was published ("ifølge kronikken" names the op-ed) and the headings
    above the quote."""
    meta = document.meta
    byline = ", ".join(part for part in (*(meta.get("authors") or []), meta.get("affiliation")) if part)
    published = " ".join(part for part in (meta.get("genre"), meta.get("publication")) if part)
    return " › ".join(part for part in (document.title, byline, published, *section_path[1:]) if part)


def group_evidence(picks: list[Candidate], documents: dict[str, Document], perspectives: list[Perspective],
                   speakers: dict[Perspective, str] | None = None, byline_asked: bool = False) -> list[EvidenceGroup]:
    """The picked passages grouped by perspective: the groups of the perspectives the question
    named as speakers first, in the order it named them, then the best group first. `speakers`
    maps each named perspective to the question's words for it ("the police"), or "". A byline
    is quoted only when the question asks who wrote (`byline_asked`)."""
    speakers = speakers or {}
    groups: dict[tuple, EvidenceGroup] = {}
    bylines: set[tuple[int, int]] = set()
    for rank, pick in enumerate(picks):
        chunk = pick.source.chunk
        owner = perspective_of(chunk, perspectives)
        key = (chunk.doc_id, owner.section_prefix if owner else chunk.section_path)
        group = groups.get(key) or EvidenceGroup(documents[chunk.doc_id], owner, chunk.section_path, [],
                                                 speakers.get(owner, "") if owner is not None else "")
        quoted = {(q.start, q.end) for q in group.quotes}  # a colon may bring in another pick's sentence
        spans = [span for span in claim_spans(pick.source, pick.start, pick.end) if span not in quoted]
        # The byline says who wrote, not what they argue: quoted only when that is asked, then first.
        byline = {byline_span(group.document, chunk)} & set(spans)
        bylines |= byline
        group.quotes += [Quote(pick.source.n, start, end, rank) for start, end in spans
                         if byline_asked or (start, end) not in byline]
        if group.quotes:
            groups[key] = group
    ordered = list(groups.values())
    named_order = {perspective: n for n, perspective in enumerate(speakers)}
    ordered.sort(key=lambda g: named_order.get(g.perspective, len(named_order)))  # stable: best first otherwise
    for group in ordered:
        group.quotes.sort(key=lambda q: ((q.start, q.end) not in bylines, q.start))
    return ordered


def byline_span(document: Document, chunk: Chunk) -> tuple[int, int] | None:
    """Where in `chunk` the document's byline stands (the line that names its first author and
    its affiliation), if it does. It is quoted as an argument nowhere: "Thomas Clausen og Helge Waal,
    Senter for ..., Universitetet i Oslo" answered a question about the weather in Oslo."""
    authors, affiliation = document.meta.get("authors") or [], document.meta.get("affiliation") or ""
    text, offset = chunk.text, chunk.start
    at = text.find(authors[0]) if authors and affiliation else -1
    while at >= 0:
        end = text.find("\n", at) % (len(text) + 1)  # -1 (no line break): the end of the text
        if affiliation in text[at:end]:
            return offset + at, offset + len(text[:end].rstrip())
        at = text.find(authors[0], at + 1)
    return None


def asks_who_wrote(question: str) -> bool:
    """"Who wrote the op-ed?", "Hvem er kronikkforfatterne?", "What institution are the authors
    affiliated with?", "Who are Clausen and Waal?": about a document it names, the byline answers."""
    return bool(WHO_WROTE.search(question) or AFFILIATION.search(question) or WHO_IS.search(question))


def in_reading_order(groups: list[EvidenceGroup], sources: list[Source]) -> tuple[list[EvidenceGroup], list[Source]]:
    """The groups and the sources they cite, renumbered in the order the answer cites them, so
    the first marker a reader meets is [1] (retrieval rank put [3] before [2]); sources nothing
    cites are left out."""
    order = list(dict.fromkeys(quote.n for group in groups for quote in group.quotes))
    renumber = {old: new for new, old in enumerate(order, start=1)}
    groups = [replace(group, quotes=[replace(q, n=renumber[q.n]) for q in group.quotes]) for group in groups]
    sources = sorted((replace(s, n=renumber[s.n]) for s in sources if s.n in renumber), key=lambda s: s.n)
    return groups, sources


def lead(group: EvidenceGroup, language: str) -> str:
    """The line that names who says what follows and where: "Politi (… › Manglende tid og ressurser) says:"."""
    where = _where(group)
    if group.perspective is not None and group.perspective.section_prefix:
        # "said" and "sier" agree with any subject: "The police said", "Helsepersonell sier".
        return f"{_speaker(group, language)} ({where}) sier:" if language == "no" else \
            f"{_speaker(group, language)} ({where}) said:"
    authors = group.document.meta.get("authors") or []
    if authors:
        genre = group.document.meta.get("genre", "")
        if language == "no":
            return f"{_joined(authors, 'og')} skriver i {genre or 'dokumentet'} «{_short(group.document.title)}» ({where}):"
        kind = GENRES.get(genre.lower(), genre or "document")
        return f"{_joined(authors, 'and')} write in the {kind} «{_short(group.document.title)}» ({where}):"
    where = f" ({where})" if where != _short(group.document.title) else ""  # not the title twice
    return f"«{_short(group.document.title)}»{where} {'sier' if language == 'no' else 'says'}:"


def speaker_name(group: EvidenceGroup) -> str:
    """Who the group is, for a prompt: the perspective's label (and how the question named it).
    A speaker group goes without its document's title: every token of a request costs the
    local model ~15 ms before it writes a word, and the title tells it nothing of who speaks."""
    if group.perspective is None:
        return f"the document «{_short(group.document.title)}»"
    authors = group.document.meta.get("authors") or []
    if not group.perspective.section_prefix and authors:
        return f"{_joined(authors, 'and')}, authors of «{_short(group.document.title)}»"
    return _speaker(group, "en")


def _speaker(group: EvidenceGroup, language: str) -> str:
    """The perspective's label, after the words the question named it with when they differ:
    "The police («Politi»)" for "what did the police say", just "Politi" for "hva sa politiet"."""
    label = group.perspective.label
    if not group.mention or set(analyse(group.mention)) == set(analyse(label)):
        return label
    article = "The " if language == "en" and group.mention[:1].islower() else ""
    mention = group.mention if article else group.mention[:1].upper() + group.mention[1:]
    return f"{article}{mention} («{label}»)"


def _where(group: EvidenceGroup) -> str:
    """The document (shortened) and the headings below the perspective's own."""
    depth = len(group.perspective.section_prefix) if group.perspective else 1
    below = [h for h in group.section_path[max(depth, 1):]]
    parts = [_short(group.document.title)] if not group.perspective or group.perspective.section_prefix else []
    return " › ".join(parts + below) or _short(group.document.title)


def _short(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def _joined(names: list[str], conjunction: str) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {conjunction} " + names[-1]
