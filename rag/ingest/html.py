"""HTML to blocks: h1-h6 become headings, paragraphs, list items and quotes text, a table a
block per row (`rag.ingest.tables`).

Scripts, styles and navigation are skipped; nothing from the markup survives into
the text, so no HTML from a document can reach a page that shows it.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.ingest.blocks import HEADING, TEXT, Block, Parsed
from rag.ingest.tables import table_lines

SKIPPED = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg",
           "template", "iframe", "button", "select"}
BLOCK_TAGS = {"p", "li", "blockquote", "pre", "div", "section", "article", "main",
              "dd", "dt", "figcaption", "ul", "ol", "br", "body", "html"}
CELLS = {"td", "th"}
ROW_PARTS = {"tr", "caption", *CELLS}
HEADINGS = {f"h{level}": level for level in range(1, 7)}
VOID = {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source",
        "track", "wbr", "param"}


class _BlockCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.skip_depth = 0
        self.heading_level: int | None = None
        self.in_title = False
        self.title = ""
        self.table = _Table()
        self.table_depth = 0  # a table inside a cell adds its rows to the outer table

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag == "br":
                self.buffer.append("\n")
            return
        if self.skip_depth or tag in SKIPPED:
            self.skip_depth += 1
            return
        if tag == "title":
            self.in_title = True
        elif tag == "table" or self.table_depth:
            self._table_start(tag)
        elif tag in HEADINGS or tag in BLOCK_TAGS:
            self.flush()
            self.heading_level = HEADINGS.get(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.skip_depth:
            self.skip_depth -= 1
            return
        if tag == "title":
            self.in_title = False
        elif self.table_depth:
            self._table_end(tag)
        elif tag in HEADINGS or tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if self.skip_depth:
            return
        if self.in_title:
            self.title += data
        else:
            self.buffer.append(data)

    def _table_start(self, tag):
        if tag == "table":
            if not self.table_depth:
                self.flush()
            self.table_depth += 1
        elif tag in ROW_PARTS:  # HTML lets a cell or row end where the next begins
            self.table.end_cell(self.buffer)
            self.table.start(tag)
        elif tag in HEADINGS or tag in BLOCK_TAGS:
            self.buffer.append(" ")

    def _table_end(self, tag):
        if tag in ROW_PARTS or tag == "table":
            self.table.end_cell(self.buffer)
        else:
            self.buffer.append(" ")
        if tag == "table":
            self.table_depth -= 1
            if not self.table_depth:
                self._table_done()

    def _table_done(self):
        self.table.end_cell(self.buffer)
        self.blocks += [Block(TEXT, line) for line in self.table.lines()]
        self.table, self.table_depth = _Table(), 0

    def finish(self):
        """End what the document left open: a table without </table>, the last paragraph."""
        if self.table_depth:
            self._table_done()
        self.flush()

    def flush(self):
        text = _normalise_space("".join(self.buffer))
        self.buffer = []
        if text:
            if self.heading_level is not None:
                self.blocks.append(Block(HEADING, text.replace("\n", " "), self.heading_level))
            else:
                self.blocks.append(Block(TEXT, text))
        self.heading_level = None


class _Table:
    """The rows of cell texts of the table being read, and which cells were <th>."""

    def __init__(self):
        self.rows: list[list[str]] = []
        self.heads: list[list[bool]] = []
        self.captions: list[str] = []
        self.in_cell = self.in_caption = False

    def start(self, tag: str) -> None:
        if tag == "caption":
            self.in_cell = self.in_caption = True
        elif tag == "tr" or not self.rows:
            self.rows.append([])
            self.heads.append([])
        if tag in CELLS:
            self.in_cell = True
            self.heads[-1].append(tag == "th")

    def end_cell(self, buffer: list[str]) -> None:
        text = _normalise_space("".join(buffer)).replace("\n", " ")
        if self.in_caption:
            self.captions.append(text)
        elif self.in_cell:
            self.rows[-1].append(text)
        self.in_cell = self.in_caption = False
        buffer.clear()

    def lines(self) -> list[str]:
        """The rows as text; a first row of <th> cells names the columns, else `table_lines` judges."""
        header = bool(self.heads) and bool(self.heads[0]) and all(self.heads[0])
        return [c for c in self.captions if c] + table_lines(self.rows, has_header=True if header else None)


def _normalise_space(text: str) -> str:
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def parse_html(text: str) -> Parsed:
    """Blocks of an HTML document, and its <title> as metadata."""
    collector = _BlockCollector()
    collector.feed(text)
    collector.close()
    collector.finish()
    meta = {"html_title": collector.title.strip()} if collector.title.strip() else {}
    return Parsed(collector.blocks, meta)
