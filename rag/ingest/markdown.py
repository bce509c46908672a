"""Markdown to blocks: ATX (`#`) and setext (`===`/`---`) headings, pipe tables row by row, paragraphs as text."""
from __future__ import annotations

import re

from rag.ingest.blocks import HEADING, TEXT, Block
from rag.ingest.plaintext import paragraphs
from rag.ingest.tables import table_lines

ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SETEXT = re.compile(r"^(.+)\n(=+|-+)\s*$")
# The line under a pipe table's header: "|---|:--:|" (outer pipes optional).
TABLE_RULE = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def parse_markdown(text: str) -> list[Block]:
    """Blocks of a Markdown document; inline markup is kept as written."""
    blocks: list[Block] = []
    for paragraph in paragraphs(text):
        blocks.extend(_paragraph_blocks(paragraph))
    return blocks


def _paragraph_blocks(paragraph: str) -> list[Block]:
    lines = paragraph.strip().split("\n")
    if len(lines) > 1 and "|" in lines[0] and "|" in lines[1] and TABLE_RULE.match(lines[1]):
        rows = [line.strip().strip("|").split("|") for line in lines[:1] + lines[2:]]
        return [Block(TEXT, line) for line in table_lines(rows, has_header=True)]
    setext = SETEXT.match(paragraph)
    if setext and "\n" not in setext.group(1):
        level = 1 if setext.group(2).startswith("=") else 2
        return [Block(HEADING, setext.group(1).strip(), level)]
    blocks, body = [], []
    for line in paragraph.split("\n"):
        heading = ATX.match(line)
        if heading:
            if body:
                blocks.append(Block(TEXT, "\n".join(body)))
                body = []
            blocks.append(Block(HEADING, heading.group(2), len(heading.group(1))))
        else:
            body.append(line)
    if body:
        blocks.append(Block(TEXT, "\n".join(body)))
    return blocks
