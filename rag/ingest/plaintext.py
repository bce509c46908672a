"""Plain text to blocks: paragraphs split on blank lines, headings recognised by shape.

A heading is a short line standing alone between blank lines that does not end in
sentence punctuation. "4. Hva sier ..." is a numbered chapter heading (it may end in
"?"); "Politi: Ressursmangel, ..." introduces a group and ranks above the plain
headings that follow it.
"""
from __future__ import annotations

import re

from rag.ingest.blocks import GROUP_RANK, HEADING, PLAIN_RANK, TEXT, Block

MAX_HEADING_CHARS = 120
MAX_HEADING_WORDS = 16
NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
GROUP = re.compile(r"^[A-ZÆØÅ][\w\- ]{1,40}:\s+\S")
SENTENCE_END = tuple(".!?,;:»\"”…)")
NOT_HEADING_START = tuple("•-–*«\"“(")


def paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, trailing spaces stripped from each line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks = re.split(r"\n[ \t]*\n", text)
    cleaned = ("\n".join(line.rstrip() for line in chunk.strip("\n").split("\n")) for chunk in chunks)
    return [p for p in cleaned if p.strip()]


def heading_rank(paragraph: str) -> int | None:
    """The heading rank of a paragraph, or None when it reads as body text."""
    line = paragraph.strip()
    if "\n" in line or not line or len(line) > MAX_HEADING_CHARS:
        return None
    if len(line.split()) > MAX_HEADING_WORDS or line.startswith(NOT_HEADING_START):
        return None
    numbered = NUMBERED.match(line)
    if numbered and not line[-1] in ".,;:":
        return numbered.group(1).count(".") + 1
    if line.endswith(SENTENCE_END) or not (line[0].isupper() or line[0].isdigit()):
        return None
    return GROUP_RANK if GROUP.match(line) else PLAIN_RANK


def parse_plain_text(text: str) -> list[Block]:
    """Blocks of a plain-text document."""
    blocks = []
    for paragraph in paragraphs(text):
        rank = heading_rank(paragraph)
        if rank is None:
            blocks.append(Block(TEXT, paragraph))
        else:
            blocks.append(Block(HEADING, paragraph.strip(), rank))
    return blocks
