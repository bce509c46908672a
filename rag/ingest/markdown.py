"""Markdown to blocks: ATX (`#`) and setext (`===`/`---`) headings, pipe tables row by row, paragraphs as text."""
from __future__ import annotations

import re

from rag.ingest.blocks import HEADING, TEXT, Block
from rag.ingest.plaintext import paragraphs
from rag.ingest.tables import table_lines

ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SETEXT = re.compile(r"^(.+)\n(=+|-+)\s*$")
PIPE = re.compile(r"(?<!\\)\|")  # a cell border; "\|" is a pipe inside a cell
# The line under a pipe table's header: "|---|:--:|" (outer pipes optional).
TABLE_RULE = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def parse_markdown(text: str) -> list[Block]:
    """Blocks of a Markdown document; inline markup is kept as written."""
    blocks: list[Block] = []
    for paragraph in paragraphs(text):
        blocks.extend(_paragraph_blocks(paragraph))
    return blocks


def _paragraph_blocks(paragraph: str) -> list[Block]:
    lines = paragraph.split("\n")
    start = next((i for i in range(len(lines) - 1) if _opens_table(lines[i], lines[i + 1])), None)
    if start is not None:  # a pipe table, perhaps right under a line of text
        end = next((i for i in range(start + 2, len(lines)) if "|" not in lines[i]), len(lines))
        rows = [_cells(line) for line in lines[start:start + 1] + lines[start + 2:end]]
        table = [Block(TEXT, line) for line in table_lines(rows, header_rows=1)]
        before, after = "\n".join(lines[:start]), "\n".join(lines[end:])
        return (_paragraph_blocks(before) if before.strip() else []) + table + \
            (_paragraph_blocks(after) if after.strip() else [])
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


def _opens_table(line: str, rule: str) -> bool:
    return "|" in line and "|" in rule and bool(TABLE_RULE.match(rule.strip()))


def _cells(line: str) -> list[str]:
    """A pipe table row's cells; "\\|" is a pipe inside a cell."""
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [cell.replace("\\|", "|") for cell in PIPE.split(line)]
