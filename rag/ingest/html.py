"""HTML to blocks: h1-h6 become headings, paragraphs, list items and quotes text, a table a
block per row (`rag.ingest.tables`).

Scripts, styles and navigation are skipped; nothing from the markup survives into
the text, so no HTML from a document can reach a page that shows it.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.ingest.blocks import HEADING, TEXT, Block, Parsed
from rag.ingest.tables import as_cell_text, table_lines

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
        self.tables: list[tuple[_Table, list[str]]] = []  # open tables, innermost last, with the outer text

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
        elif tag == "table" or self.tables:
            self._table_start(tag, attrs)
        elif tag in HEADINGS or tag in BLOCK_TAGS or tag in ROW_PARTS:  # a stray cell still ends a block
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
        elif self.tables:
            self._table_end(tag)
        elif tag in HEADINGS or tag in BLOCK_TAGS or tag in ROW_PARTS:
            self.flush()

    def handle_data(self, data):
        if self.skip_depth:
            return
        if self.in_title:
            self.title += data
        else:
            self.buffer.append(data)

    def _table_start(self, tag, attrs):
        if tag == "table":
            if not self.tables:
                self.flush()
            # A table in a cell is read on its own; its rows become text of that cell.
            self.tables.append((_Table(), self.buffer))
            self.buffer = []
        elif tag in ROW_PARTS:  # HTML lets a cell or row end where the next begins
            self.tables[-1][0].end_cell(self.buffer)
            self.tables[-1][0].start(tag, dict(attrs))
        elif tag in HEADINGS or tag in BLOCK_TAGS:
            self.buffer.append(" ")

    def _table_end(self, tag):
        if tag in ROW_PARTS or tag == "table":
            self.tables[-1][0].end_cell(self.buffer)
        else:
            self.buffer.append(" ")
        if tag == "table":
            self._table_done()

    def _table_done(self):
        table, outer_buffer = self.tables.pop()
        table.end_cell(self.buffer)
        self.buffer = outer_buffer
        if self.tables:
            self.buffer.append(" " + as_cell_text(table.lines()) + " ")
        else:
            self.blocks += [Block(TEXT, line) for line in table.lines()]

    def finish(self):
        """End what the document left open: tables without </table>, the last paragraph."""
        while self.tables:
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
    """The grid of the table being read: cell texts, None where a cell spans a column or row
    (`colspan`, `rowspan`), and which rows are all <th>."""

    def __init__(self):
        self.rows: list[list[str | None]] = []
        self.all_heads: list[bool] = []
        self.captions: list[str] = []
        self.spanning: dict[int, tuple[str, int]] = {}  # column -> (text, rows still to cover)
        self.cell: tuple[bool, int, int] | None = None  # the open cell: (is <th>, colspan, rowspan)
        self.in_caption = False

    def start(self, tag: str, attrs: dict) -> None:
        if tag == "caption":
            self.in_caption = True
            return
        if tag == "tr" or not self.rows:
            self._new_row()
        if tag in CELLS:
            self.cell = (tag == "th", _span(attrs.get("colspan")), _span(attrs.get("rowspan")))

    def _new_row(self) -> None:
        self.rows.append([])
        self.all_heads.append(True)
        self._fill_spanned()

    def _fill_spanned(self) -> None:
        """Carry the cells that span down into this row's next columns."""
        row = self.rows[-1]
        while len(row) in self.spanning:
            text, left = self.spanning.pop(len(row))
            row.append(text)
            if left > 1:
                self.spanning[len(row) - 1] = (text, left - 1)

    def end_cell(self, buffer: list[str]) -> None:
        text = _normalise_space("".join(buffer)).replace("\n", " ")
        buffer.clear()
        if self.in_caption:
            self.captions.append(text)
        elif self.cell is not None:
            heading, columns, rows = self.cell
            row = self.rows[-1]
            self.all_heads[-1] = self.all_heads[-1] and heading
            for column in range(columns):
                row.append(text if column == 0 else None)
                if rows > 1:
                    self.spanning[len(row) - 1] = (text if column == 0 else None, rows - 1)
            self._fill_spanned()
        self.cell, self.in_caption = None, False

    def lines(self) -> list[str]:
        """The rows as text; its leading rows of <th> cells name the columns, else `table_lines` judges."""
        heads = next((n for n, all_heads in enumerate(self.all_heads) if not all_heads), len(self.all_heads))
        return [c for c in self.captions if c] + table_lines(self.rows, heads or None)


def _span(value: str | None) -> int:
    """A colspan or rowspan attribute as a count, within reason (a page can say anything)."""
    try:
        return min(max(int(value or 1), 1), 100)
    except ValueError:
        return 1


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
