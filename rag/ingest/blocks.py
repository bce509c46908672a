"""The format-neutral shape every loader produces: a flat list of blocks.

Loaders turn a file into blocks; cleanup and footnote extraction rewrite blocks;
`structure.build_document` turns blocks into a `Document` with a section tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

HEADING = "heading"
TEXT = "text"
BYLINE = "byline"

# Heading ranks: smaller is higher in the tree. Numbered chapters ("4. ...") use their
# depth (1, 2, ...); a group heading ("Politi: ...") sits above plain headings.
GROUP_RANK = 8
PLAIN_RANK = 9


@dataclass
class GluedFootnote:
    """A footnote cut out of a text block; `offset` is where its marker stood."""

    n: int
    text: str
    offset: int


@dataclass
class Block:
    """One paragraph-like unit of a document."""

    kind: str
    text: str
    rank: int = PLAIN_RANK
    footnotes: list[GluedFootnote] = field(default_factory=list)

    @property
    def is_heading(self) -> bool:
        """True for headings of any rank."""
        return self.kind == HEADING


@dataclass
class Parsed:
    """What a loader returns: blocks plus any metadata the format itself carries."""

    blocks: list[Block]
    meta: dict = field(default_factory=dict)
