"""A briefing note as Markdown or as a Word document (python-docx), with the same content and sources.

Both put `[n]` after every cited statement and end with the numbered source list
(document, section path, verbatim quote): endnotes, in Word as in Markdown.
Characters XML cannot hold (C0 controls other than tab and line breaks) are dropped from both.
"""
from __future__ import annotations

import dataclasses
import io
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from docx import Document as WordDocument
from docx.shared import Pt

from rag.types import Citation

if TYPE_CHECKING:  # only for hints: the CLI reads FORMATS without loading the pipeline
    from rag.briefing.writer import Briefing, Point

FORMATS = ("md", "docx")
# What XML 1.0 forbids: python-docx refuses a document holding any of these.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
BULLETS = "•▪◦‣●·"  # glyphs a document may start a listed line with
T = TypeVar("T")
LABELS = {
    "en": {"title": "Briefing: {topic}", "date": "Date", "scope": "Scope", "documents": "documents",
           "groups": "perspectives", "summary": "Summary", "perspectives": "Perspectives",
           "quotes": "Key quotes", "measures": "Proposed measures", "sources": "Sources",
           "silent": "Says nothing specific about this topic.", "no_measures": "No measures on this topic.",
           "uncovered": "The documents do not cover this topic; there is nothing to brief on.",
           "notices": "Notes on this briefing"},
    "no": {"title": "Notat: {topic}", "date": "Dato", "scope": "Omfang", "documents": "dokumenter",
           "groups": "perspektiver", "summary": "Sammendrag", "perspectives": "Perspektiver",
           "quotes": "Sentrale sitater", "measures": "Foreslåtte tiltak", "sources": "Kilder",
           "silent": "Sier ikke noe konkret om dette temaet.", "no_measures": "Ingen tiltak om dette temaet.",
           "uncovered": "Dokumentene dekker ikke dette temaet; det er ikke noe å lage notat om.",
           "notices": "Merknader til notatet"},
}


def xml_safe(text: str) -> str:
    """`text` without characters XML forbids; the whitespace among them (vertical tab, form feed,
    separators) becomes a space, so that the words either side stay apart."""
    return XML_INVALID.sub(lambda m: " " if m.group().isspace() else "", text)


def map_text(value: T, change: Callable[[str], str]) -> T:
    """A copy of `value` with `change` applied to every string in it, walking dataclasses, lists
    and tuples: a field added to the note later is covered without being named here."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, (list, tuple)):
        return type(value)(map_text(item, change) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: map_text(getattr(value, f.name), change) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **fields)
    return value


def labels(note: Briefing) -> dict:
    """The fixed wording of the note, in its language."""
    return LABELS.get(note.language, LABELS["en"])


def markers(point: Point) -> str:
    """' [1][3]' for a point citing sources 1 and 3."""
    return " " + "".join(f"[{n}]" for n in point.sources) if point.sources else ""


def scope_line(note: Briefing) -> str:
    """Which documents and groups were searched."""
    words = labels(note)
    return (f"{len(note.documents)} {words['documents']} ({'; '.join(note.documents)}); "
            f"{len(note.groups)} {words['groups']} ({'; '.join(note.groups)})")


def source_line(citation: Citation) -> str:
    """A source entry: document, section path and the verbatim quote."""
    return f"{citation.title} — {section_path(citation)}: {quoted(citation.quote)}"


def section_path(citation: Citation) -> str:
    """The heading chain below the document title ('Politi: ... > Manglende tid og ressurser')."""
    path = citation.section_path
    path = path[1:] if len(path) > 1 and path[0] == citation.title else path
    return " > ".join(path)


def quote_attribution(point: Point) -> str:
    """'Politi, Title, Section > Path' for a key quote."""
    citation = point.citations[0]
    return f"{point.group}, {citation.title}, {section_path(citation)}"


def to_markdown(note: Briefing) -> str:
    """The note as Markdown."""
    note = map_text(note, xml_safe)
    words = labels(note)
    lines = [f"# {words['title'].format(topic=note.topic)}", "",
             f"**{words['date']}:** {note.date}  ", f"**{words['scope']}:** {scope_line(note)}", ""]
    if not note.covered:
        return "\n".join(lines + [words["uncovered"], ""])
    lines += [f"## {words['summary']}", ""] + [f"- {_labelled(p)}{markers(p)}" for p in note.summary] + [""]
    lines += [f"## {words['perspectives']}", ""]
    for perspective in note.perspectives:
        lines += [f"### {perspective.group.label}", ""]
        lines += [f"- {_one_line(p.text)}{markers(p)}" for p in perspective.points] or [words["silent"]]
        lines.append("")
    lines += [f"## {words['quotes']}", ""]
    lines += [f"> {quoted(p.text)}{markers(p)}  \n> — {quote_attribution(p)}\n" for p in note.key_quotes]
    lines += [f"## {words['measures']}", ""]
    for perspective in (p for p in note.perspectives if p.measures):
        lines += [f"### {perspective.group.label}", ""]
        lines += [f"- {_one_line(p.text)}{markers(p)}" for p in perspective.measures] + [""]
    if not any(p.measures for p in note.perspectives):
        lines += [words["no_measures"], ""]
    lines += [f"## {words['sources']}", ""] + [f"[{c.n}] {source_line(c)}  " for c in note.sources] + [""]
    if note.notices:
        lines += [f"## {words['notices']}", ""] + [f"- {notice}" for notice in note.notices] + [""]
    return "\n".join(lines)


def to_docx(note: Briefing) -> bytes:
    """The note as a Word document (.docx bytes)."""
    note = map_text(note, xml_safe)
    words = labels(note)
    document = WordDocument()
    title = words["title"].format(topic=note.topic)
    # The template's properties name python-docx as author and no title: Word shows them.
    properties = document.core_properties
    properties.title, properties.author, properties.last_modified_by = title, "", ""
    properties.created = properties.modified = datetime.now()
    document.add_heading(title, level=0)
    _labelled_paragraph(document, words["date"], note.date)
    _labelled_paragraph(document, words["scope"], scope_line(note))
    if not note.covered:
        document.add_paragraph(words["uncovered"])
        return _saved(document)
    document.add_heading(words["summary"], level=1)
    for point in note.summary:
        _cited(document.add_paragraph(style="List Bullet"), _labelled(point), point)
    _perspectives_docx(document, note, words)
    document.add_heading(words["quotes"], level=1)
    for point in note.key_quotes:
        _cited(document.add_paragraph(style="Quote"), quoted(point.text), point)
        document.add_paragraph(f"— {quote_attribution(point)}")
    _measures_docx(document, note, words)
    document.add_heading(words["sources"], level=1)
    for citation in note.sources:
        document.add_paragraph(f"[{citation.n}] {source_line(citation)}").paragraph_format.space_after = Pt(4)
    if note.notices:
        document.add_heading(words["notices"], level=1)
        for notice in note.notices:
            document.add_paragraph(notice, style="List Bullet")
    return _saved(document)


def write(note: Briefing, path: Path, file_format: str | None = None) -> Path:
    """Write the note to `path` as `file_format` (default: from the file's suffix, else Markdown)."""
    file_format = file_format or ("docx" if path.suffix.lower() == ".docx" else "md")
    if file_format not in FORMATS:
        raise ValueError(f"unknown briefing format {file_format!r}; use one of {', '.join(FORMATS)}")
    if file_format == "docx":
        path.write_bytes(to_docx(note))
    else:
        path.write_text(to_markdown(note), encoding="utf-8")
    return path


def _perspectives_docx(document, note: Briefing, words: dict) -> None:
    document.add_heading(words["perspectives"], level=1)
    for perspective in note.perspectives:
        document.add_heading(perspective.group.label, level=2)
        for point in perspective.points:
            _cited(document.add_paragraph(style="List Bullet"), _one_line(point.text), point)
        if not perspective.points:
            document.add_paragraph(words["silent"])


def _measures_docx(document, note: Briefing, words: dict) -> None:
    document.add_heading(words["measures"], level=1)
    for perspective in (p for p in note.perspectives if p.measures):
        document.add_heading(perspective.group.label, level=2)
        for point in perspective.measures:
            _cited(document.add_paragraph(style="List Bullet"), _one_line(point.text), point)
    if not any(p.measures for p in note.perspectives):
        document.add_paragraph(words["no_measures"])


def _cited(paragraph, text: str, point: Point) -> None:
    """The statement, then its source numbers as superscript endnote markers."""
    paragraph.add_run(text)
    if point.sources:
        paragraph.add_run(markers(point)).font.superscript = True


def quoted(text: str) -> str:
    """A verbatim quote on one line in «», or in “” when it holds «quotations» of its own."""
    text = _one_line(text)
    return f"“{text}”" if "«" in text or "»" in text else f"«{text}»"


def _labelled_paragraph(document, label: str, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.add_run(f"{label}: ").bold = True
    paragraph.add_run(text)


def _labelled(point: Point) -> str:
    return f"{point.group}: {_one_line(point.text)}" if point.group else _one_line(point.text)


def _one_line(text: str) -> str:
    """Passages may span paragraphs; in a list item or quote they read as one. A bullet the
    document put before a line ("• Helsemessige ...") goes: the list item has its own."""
    return " ".join(text.split()).lstrip(BULLETS).lstrip()


def _saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
