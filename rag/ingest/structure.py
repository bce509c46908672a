"""Blocks to a `Document`: cleaned text, section tree with character spans, footnotes.

The cleaned text is the blocks joined by blank lines, followed by a notes block that
holds the footnotes' text (so that footnote chunks are exact spans of the text too).
A heading closes every open section of the same or a lower rank; the document's first
heading is its top section, unless it is a numbered chapter among others.
"""
from __future__ import annotations

from dataclasses import dataclass

from rag.ingest.blocks import GROUP_RANK, Block
from rag.ingest.cleanup import is_text
from rag.ingest.plaintext import heading_rank
from rag.types import Footnote, Section

PARAGRAPH_BREAK = "\n\n"
TITLE_RANK = 0


@dataclass
class _Open:
    """A section whose end is not known yet."""

    rank: int
    path: tuple[str, ...]
    start: int
    body_start: int
    is_group: bool = False


@dataclass
class Layout:
    """Everything `build_layout` derives from blocks."""

    text: str
    sections: list[Section]
    footnotes: list[Footnote]
    title: str


def build_layout(blocks: list[Block], fallback_title: str) -> Layout:
    """Join blocks into text and derive sections and footnotes."""
    blocks = _title_first(blocks)
    builder = _Builder(fallback_title)
    for block in blocks:
        if block.is_heading:
            builder.heading(block)
        elif is_text(block):
            builder.paragraph(block)
    return builder.finish()


def _title_first(blocks: list[Block]) -> list[Block]:
    """Make the first heading the top of the tree, unless it is one of several chapters."""
    headings = [b for b in blocks if b.is_heading]
    if not headings:
        return blocks
    first = headings[0]
    is_one_of_chapters = first.rank < GROUP_RANK and sum(h.rank == first.rank for h in headings) > 1
    if not is_one_of_chapters:
        first.rank = TITLE_RANK
    return blocks


class _Builder:
    def __init__(self, fallback_title: str):
        self.parts: list[str] = []
        self.length = 0
        self.open: list[_Open] = []
        self.sections: list[Section] = []
        self.notes: list[tuple[int, str, int]] = []
        self.fallback_title = fallback_title
        self.title: str | None = None

    def _append(self, text: str) -> int:
        if self.parts:
            self.parts.append(PARAGRAPH_BREAK)
            self.length += len(PARAGRAPH_BREAK)
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        return start

    def heading(self, block: Block) -> None:
        self._close(lambda section: section.rank >= block.rank)
        start = self._append(block.text)
        path = (self.open[-1].path if self.open else ()) + (block.text,)
        self.title = self.title or block.text
        # Ranked by its text, whatever the format: a Markdown or Word heading can name a group too.
        self.open.append(_Open(block.rank, path, start, self.length, heading_rank(block.text) == GROUP_RANK))

    def paragraph(self, block: Block) -> None:
        if not self.open:
            # Text before any heading belongs to a section named after the document.
            self.open.append(_Open(TITLE_RANK, (self.fallback_title,), self.length, self.length))
            self.title = self.title or self.fallback_title
        start = self._append(block.text)
        self.notes.extend((n.n, n.text, start + n.offset) for n in block.footnotes)

    def _close(self, should_close) -> None:
        while self.open and should_close(self.open[-1]):
            section = self.open.pop()
            self._emit(section)

    def _emit(self, section: _Open) -> None:
        following = [s.start for s in self.sections if s.start > section.start]
        body_end = min(following, default=self.length)
        self.sections.append(
            Section(section.path, section.start, self.length, section.body_start, body_end,
                    is_group=section.is_group)
        )

    def finish(self) -> Layout:
        self._close(lambda section: True)
        self.sections.sort(key=lambda s: s.start)
        body = "".join(self.parts)
        text, footnotes = _append_notes(body, self.notes, self.sections)
        return Layout(text, self.sections, footnotes, self.title or self.fallback_title)


def _append_notes(body: str, notes, sections: list[Section]) -> tuple[str, list[Footnote]]:
    """Body followed by a notes block "n text" per footnote, and the footnotes' spans."""
    if not notes:
        return body, []
    text = body + PARAGRAPH_BREAK
    footnotes = []
    for index, (n, note_text, anchor) in enumerate(notes):
        text += ("\n" if index else "") + f"{n} "
        start = len(text)
        text += note_text
        path = _path_at(sections, anchor)
        footnotes.append(Footnote(n, note_text, path, start, len(text), anchor))
    return text, footnotes


def _path_at(sections: list[Section], offset: int) -> tuple[str, ...]:
    owners = [s for s in sections if s.body_start <= offset <= s.body_end]
    return max(owners, key=lambda s: s.level).path if owners else ()
