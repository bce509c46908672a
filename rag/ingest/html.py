"""HTML to blocks: h1-h6 become headings, paragraphs, list items and quotes text.

Scripts, styles and navigation are skipped; nothing from the markup survives into
the text, so no HTML from a document can reach a page that shows it.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.ingest.blocks import HEADING, TEXT, Block, Parsed

SKIPPED = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg",
           "template", "iframe", "button", "select"}
BLOCK_TAGS = {"p", "li", "blockquote", "pre", "div", "section", "article", "main", "td", "th",
              "dd", "dt", "figcaption", "tr", "table", "ul", "ol", "br", "body", "html"}
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
        elif tag in HEADINGS or tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if self.skip_depth:
            return
        if self.in_title:
            self.title += data
        else:
            self.buffer.append(data)

    def flush(self):
        text = _normalise_space("".join(self.buffer))
        self.buffer = []
        if text:
            if self.heading_level is not None:
                self.blocks.append(Block(HEADING, text.replace("\n", " "), self.heading_level))
            else:
                self.blocks.append(Block(TEXT, text))
        self.heading_level = None


def _normalise_space(text: str) -> str:
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def parse_html(text: str) -> Parsed:
    """Blocks of an HTML document, and its <title> as metadata."""
    collector = _BlockCollector()
    collector.feed(text)
    collector.close()
    collector.flush()
    meta = {"html_title": collector.title.strip()} if collector.title.strip() else {}
    return Parsed(collector.blocks, meta)
