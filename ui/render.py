"""HTML renderings of answers, sources and documents for the Gradio app (the Markdown export:
`ui.markdown_export`).

Every piece of text that comes from a document, a user or a model goes through `esc`
(html.escape) here, so the only markup that reaches the page is the markup these
functions write themselves. Links to sources are fragment links (`#src-<turn>-<kind>-<n>`)
because the Chatbot's sanitizer keeps `href` and `class` but strips `data-*` attributes;
a click handler in the page turns them into an "open source" event (see `ui.app`).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from rag.answer.citations import MARKER, marker_numbers
from rag.types import Answer, Chunk, Citation, Document, Section

# A blank line (possibly several) separates paragraphs, in documents and in answers.
BLANK_LINE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")
SOURCE_HREF = re.compile(r"^#src-(\d{1,6})-(cite|near)-(\d{1,6})$")
CLOSEST_PREVIEW_CHARS = 700
TIP_CHARS = 300  # of the quotes a marker's hover text shows
# Any ASCII punctuation may be backslash-escaped in Markdown; these three also as HTML entities.
MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def esc(text: str) -> str:
    """HTML-escaped text, quotes included (safe inside attributes too)."""
    return html.escape(text, quote=True)


def markdown_literal(text: str) -> str:
    """Text a Markdown renderer shows as written: no tags, links, emphasis or headings from it.

    `<`, `>` and `&` become entities (no tag even where backslashes are not honoured);
    every other ASCII punctuation mark is backslash-escaped.
    """
    return MARKDOWN_PUNCTUATION.sub(lambda m: MARKDOWN_ENTITIES.get(m.group(), "\\" + m.group()), text)


@dataclass(frozen=True)
class SourceRef:
    """What a source link points at: citation `n` or closest match `n` of answer `turn`."""

    turn: int
    kind: str  # "cite" or "near"
    number: int

    @property
    def href(self) -> str:
        """The fragment link the page's click handler recognises."""
        return f"#src-{self.turn}-{self.kind}-{self.number}"

    @classmethod
    def parse(cls, href: str) -> "SourceRef | None":
        """The reference in a link sent by the browser; None for anything malformed."""
        match = SOURCE_HREF.match(href or "")
        return cls(int(match.group(1)), match.group(2), int(match.group(3))) if match else None


def headings_below(section_path: Sequence[str], title: str) -> list[str]:
    """The section path without its first heading when that is the document's `title` (shown already)."""
    return list(section_path[1:] if section_path and section_path[0] == title else section_path)


def breadcrumbs(section_path: Sequence[str], title: str = "") -> str:
    """The heading chain as a breadcrumb trail, without its first heading when that is the `title` shown."""
    parts = headings_below(section_path, title)
    crumbs = '<span class="rag-sep">›</span>'.join(f"<span>{esc(part)}</span>" for part in parts)
    return f'<div class="rag-crumbs">{crumbs}</div>'


def paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The paragraph (text between blank lines) around `text[start:end]`, without outer whitespace."""
    before = [blank.end() for blank in BLANK_LINE.finditer(text, 0, start)]
    after = BLANK_LINE.search(text, end)
    return _trimmed(text, before[-1] if before else 0, after.start() if after else len(text))


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Every non-empty paragraph of `text` as (start, end), without outer whitespace."""
    spans, cursor = [], 0
    for blank in BLANK_LINE.finditer(text):
        spans.append(_trimmed(text, cursor, blank.start()))
        cursor = blank.end()
    spans.append(_trimmed(text, cursor, len(text)))
    return [(start, end) for start, end in spans if start < end]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def highlight(text: str, start: int, end: int, spans: Iterable[tuple[int, int]]) -> str:
    """Escaped `text[start:end]` with `<mark>` around each span (absolute offsets, clipped)."""
    pieces, cursor = [], start
    for span_start, span_end in sorted(spans):
        span_start, span_end = max(span_start, cursor), min(span_end, end)
        if span_start >= span_end:
            continue
        pieces.append(esc(text[cursor:span_start]))
        pieces.append(f"<mark>{esc(text[span_start:span_end])}</mark>")
        cursor = span_end
    pieces.append(esc(text[cursor:end]))
    return "".join(pieces)


def quote_paragraphs(text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """One escaped paragraph per distinct paragraph holding a span, the spans marked."""
    bounds: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for start, end in spans:
        bounds.setdefault(paragraph_bounds(text, start, end), []).append((start, end))
    return [highlight(text, p_start, p_end, marks) for (p_start, p_end), marks in sorted(bounds.items())]


# --- chat messages -------------------------------------------------------------------------


def question_html(question: str) -> str:
    """A user's message, escaped."""
    return _paragraphs_html(esc(question))


def streaming_html(text: str) -> str:
    """An answer while it streams: escaped text, markers not yet resolved."""
    return _paragraphs_html(esc(text)) + '<p class="rag-typing">…</p>'


def queued_html(ahead: int) -> str:
    """An answer waiting for the local model, which answers one question at a time."""
    waiting = "1 answer" if ahead == 1 else f"{ahead} answers"
    return f'<p class="rag-empty">The local model answers one question at a time: {waiting} ahead of yours …</p>'


def answer_html(answer: Answer, turn: int) -> str:
    """A finished answer: notices, then the text with `[n]` as source links, and uncited and
    unsupported sentences marked (the reason on hover and after the sentence)."""
    marks = [(start, end, _uncited_html(answer.text[start:end]))
             for start, end in _uncited_spans(answer.text, answer.uncited_sentences)]
    for sentence in answer.unsupported:
        for start, end in _uncited_spans(answer.text, [sentence.text]):
            marks.append((start, end, _unsupported_html(answer.text[start:end], sentence.reason)))
    body = _inline_html(answer.text, marks, _marker_tips(answer.citations), turn)
    return notices_html(answer.notices) + _paragraphs_html(body)


def _marker_tips(citations: Sequence[Citation]) -> dict[int, str]:
    """What hovering `[n]` shows: where source n stands and what it quotes, so a reader can check
    a claim without leaving the sentence (the sources panel has the whole passage)."""
    tips = {}
    for n, group in citation_groups(citations).items():
        first = group[0]
        where = " › ".join(dict.fromkeys(part for part in (first.title, *first.section_path) if part))
        quotes = " … ".join(citation.quote for citation in group)
        if len(quotes) > TIP_CHARS:
            quotes = quotes[:TIP_CHARS].rsplit(" ", 1)[0] + " …"
        tips[n] = f"[{n}] {where}\n«{quotes}»"
    return tips


def notices_html(notices: Sequence[str]) -> str:
    """Backend fallback and other notices, as a visible note block."""
    return "".join(f'<div class="rag-notice">Note: {esc(notice)}</div>' for notice in notices)


def _paragraphs_html(escaped: str) -> str:
    paragraphs = [p for p in BLANK_LINE.split(escaped.strip()) if p.strip()]
    return "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _uncited_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Where each uncited sentence sits in the answer text, in order."""
    spans, cursor = [], 0
    for sentence in sentences:
        # A claim is stored without its markers: "... kroner." stands as "... kroner [1]." in the text.
        for needle in (sentence, sentence.rstrip(".!?…:")):
            found = text.find(needle, cursor) if needle else -1
            if found >= 0:
                spans.append((found, found + len(needle)))
                cursor = found + len(needle)
                break
    return spans


def _inline_html(text: str, marks: list[tuple[int, int, str]], tips: dict[int, str], turn: int) -> str:
    """Escaped text where markers become links (`tips`: the hover text of each cited n) and marked
    sentences are wrapped."""
    pieces = [(m.start(), m.end(), _marker_html(m, tips, turn)) for m in MARKER.finditer(text)]
    # A marked sentence ends before its markers, so both are written.
    pieces += marks
    out, cursor = [], 0
    for start, end, markup in sorted(pieces):
        if start < cursor:  # overlaps a piece already written; keep the first
            continue
        out += [esc(text[cursor:start]), markup]
        cursor = end
    out.append(esc(text[cursor:]))
    return "".join(out)


def _marker_html(match: re.Match, tips: dict[int, str], turn: int) -> str:
    links = [
        f'<a class="rag-cite" href="{SourceRef(turn, "cite", n).href}" title="{_attribute(tips[n])}">[{n}]</a>'
        if n in tips else f"[{n}]"
        for n in marker_numbers(match.group(1))
    ]
    return (" " if match.group(0).startswith(" ") else "") + "".join(links)


def _attribute(text: str) -> str:
    """`text` for an HTML attribute, its line breaks as entities (the answer's own become <br>)."""
    return esc(text).replace("\n", "&#10;")


def _unsupported_html(sentence: str, reason: str) -> str:
    return (f'<span class="rag-unsupported" title="Not supported: {esc(reason)}">{esc(sentence)}</span>'
            f'<span class="rag-unsupported-flag"> (not supported: {esc(reason)})</span>')


def _uncited_html(sentence: str) -> str:
    return (f'<span class="rag-uncited" title="No source supports this sentence">{esc(sentence)}</span>'
            '<span class="rag-uncited-flag"> (no source)</span>')


# --- sources panel -------------------------------------------------------------------------


def citation_groups(citations: Sequence[Citation]) -> dict[int, list[Citation]]:
    """Citations by marker number, in order: one `[n]` may resolve to several quotes."""
    groups: dict[int, list[Citation]] = {}
    for citation in citations:
        groups.setdefault(citation.n, []).append(citation)
    return groups


def sources_html(answer: Answer | None, turn: int, documents: dict[str, Document],
                 active: SourceRef | None = None) -> str:
    """The cards for one answer: its citations, or its closest matches when it abstained."""
    if answer is None:
        return '<div class="rag-empty">Sources of the answer appear here.</div>'
    if answer.abstained:
        cards = [_closest_card(chunk, SourceRef(turn, "near", i), active)
                 for i, chunk in enumerate(answer.closest, start=1)]
        label = "No answer in the documents. Closest matches:" if cards else "No answer in the documents."
        return f'<div class="rag-closest-label">{label}</div>' + "".join(cards)
    cards = [_citation_card(group, SourceRef(turn, "cite", n), documents, active)
             for n, group in citation_groups(answer.citations).items()]
    return "".join(cards) or '<div class="rag-empty">This answer cites no sources.</div>'


def _citation_card(group: list[Citation], ref: SourceRef, documents: dict[str, Document],
                   active: SourceRef | None) -> str:
    first = group[0]
    document = documents.get(first.doc_id)
    if document is None:  # the turn kept no copy of the document: the quotes alone still say it
        paragraphs = [esc(c.quote) for c in group]
    else:
        paragraphs = quote_paragraphs(document.text, [(c.start, c.end) for c in group])
    return _card(ref, f"[{ref.number}]", first.title, first.section_path, paragraphs, active)


def _closest_card(chunk: Chunk, ref: SourceRef, active: SourceRef | None) -> str:
    preview = chunk.text if len(chunk.text) <= CLOSEST_PREVIEW_CHARS else chunk.text[:CLOSEST_PREVIEW_CHARS] + " …"
    return _card(ref, f"closest match {ref.number}", chunk.title, chunk.section_path, [esc(preview)], active)


def _card(ref: SourceRef, badge: str, title: str, section_path: Sequence[str], paragraphs: list[str],
          active: SourceRef | None) -> str:
    state = " rag-active" if ref == active else ""
    quotes = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<article class="rag-card{state}" id="rag-card-{ref.kind}-{ref.number}">'
            f'<header><span class="rag-badge">{esc(badge)}</span> <span class="rag-title">{esc(title)}</span></header>'
            f"{breadcrumbs(section_path, title)}<blockquote>{quotes}</blockquote>"
            f'<a class="rag-show" href="{ref.href}">Show in document</a></article>')


# --- document view -------------------------------------------------------------------------


def document_html(document: Document, spans: Sequence[tuple[int, int]], label: str) -> str:
    """The whole cleaned document with a section tree, the spans marked (the view scrolls to the first)."""
    current = document.section_at(min(spans)[0]) if spans else None
    headings = {section.start: (i, section) for i, section in enumerate(document.sections)}
    body = "".join(_block_html(document.text, start, end, headings.get(start), spans)
                   for start, end in paragraph_spans(document.text))
    crumbs = breadcrumbs(current.path, document.title) if current else ""
    return (f'<div class="rag-doc"><header><span class="rag-badge">{esc(label)}</span> '
            f'<span class="rag-title">{esc(document.title)}</span>{crumbs}</header>'
            f'<div class="rag-doc-body">{_section_tree(document, current)}'
            f'<div class="rag-doc-text">{body}</div></div></div>')


def source_document_html(answer: Answer, documents: dict[str, Document], ref: SourceRef) -> str | None:
    """The document view for a source link of `answer`; None if the link points at nothing."""
    if ref.kind == "cite":
        group = citation_groups(answer.citations).get(ref.number)
        document = documents.get(group[0].doc_id) if group else None
        if document is None:
            return None
        spans = [(c.start, c.end) for c in group if c.doc_id == document.id]
        return document_html(document, spans, f"[{ref.number}]")
    if not 1 <= ref.number <= len(answer.closest):
        return None
    chunk = answer.closest[ref.number - 1]
    document = documents.get(chunk.doc_id)
    return document_html(document, [(chunk.start, chunk.end)], f"closest match {ref.number}") if document else None


def document_placeholder() -> str:
    """The document view before any source is opened."""
    return '<div class="rag-empty">Click a citation such as [1] in an answer to read it in its document.</div>'


def _section_tree(document: Document, current: Section | None) -> str:
    items = "".join(
        f'<li class="rag-level-{min(section.level, 6)}{" rag-current" if section == current else ""}">'
        f'<a href="#" data-section="rag-sec-{i}">{esc(section.heading)}</a></li>'
        for i, section in enumerate(document.sections)
    )
    return f'<nav class="rag-toc" aria-label="Sections"><ul>{items}</ul></nav>'


def _block_html(text: str, start: int, end: int, heading: tuple[int, Section] | None,
                spans: Sequence[tuple[int, int]]) -> str:
    if heading is None:
        return f"<p>{highlight(text, start, end, spans)}</p>"
    number, section = heading
    level = min(section.level + 2, 6)  # the document title sits below the view's own header
    return f'<h{level} id="rag-sec-{number}">{highlight(text, start, end, spans)}</h{level}>'
