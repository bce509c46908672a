"""Remove web-page furniture from blocks and lift bylines, genre and rubric into metadata.

These are general rules for copied newspaper pages, not string matches for one file:
photo captions end in a credit ("... Foto: Name, VG"); teasers start with "LES OGSÅ:";
link lists ("Les også", "Mer om", ...) and commercial lines trail the article; a
disclaimer ("Dette er en kronikk ...") names the genre; a single word above the title
is the paper's rubric; a line of personal names near the top is the byline.
"""
from __future__ import annotations

import re

from rag.ingest.blocks import BYLINE, HEADING, TEXT, Block

CAPTION = re.compile(r"(?i)\b(foto|photo|illustrasjon|faksimile|bilde)\s*:[^.!?]*$")
CREDIT_PUBLICATION = re.compile(r",\s*([A-ZÆØÅ]{2,6})\s*$")
TEASER = re.compile(r"(?i)^(les også|se også|les mer|read more|see also)\s*:")
LINK_LIST_HEADINGS = {
    "les også", "mer om", "flere artikler", "fra andre aviser", "relaterte artikler",
    "mest lest", "siste nytt", "anbefalte artikler", "related articles", "more on this",
    "most read", "read more",
}
COMMERCIAL = re.compile(
    r"(?i)rabattkode|kommersielt samarbeid|annonsørinnhold|\bannonse\b|sponset innhold|"
    r"\bsponsored\b|\badvertisement\b|pluss content"
)
DISCLAIMER = re.compile(
    r"(?i)^(?:dette er (?:en|et) (?P<genre>kronikk|debattinnlegg|leserinnlegg|kommentar|"
    r"leder|analyse|anmeldelse)\b|this is an? (?P<genre_en>opinion piece|op-ed|editorial)\b)"
)
AGE_NOTICE = re.compile(r"(?i)^(denne )?artikkelen er (over|mer enn) .{1,20} gammel\.?$")
NAME = r"[A-ZÆØÅ][a-zæøåéèüöä]+(?:[ \-][A-ZÆØÅ][a-zæøåéèüöä]*\.?){1,3}"
BYLINE_PATTERN = re.compile(
    rf"^(?:(?:Av|By)\s+)?(?P<names>{NAME}(?:\s*(?:,|\bog\b|\band\b|&)\s*{NAME})*)"
    rf"(?:\s*[,–\-|]\s*(?P<affiliation>.+))?$"
)
BYLINE_SEARCH_DEPTH = 8
MAX_FURNITURE_CHARS = 300


def clean_blocks(blocks: list[Block]) -> tuple[list[Block], dict]:
    """Blocks without page furniture, and the metadata found on the way."""
    meta: dict = {}
    blocks = _cut_trailing_link_lists(blocks)
    kept = []
    for block in blocks:
        if not _is_furniture(block, meta):
            kept.append(block)
    kept = _lift_rubric(kept, meta)
    _mark_byline(kept, meta)
    return kept, meta


def _is_furniture(block: Block, meta: dict) -> bool:
    text = block.text.strip()
    if block.kind != HEADING and CAPTION.search(text):
        credit = CREDIT_PUBLICATION.search(text)
        if credit:
            meta.setdefault("publication", credit.group(1))
        return True
    disclaimer = DISCLAIMER.match(text)
    if disclaimer:
        meta.setdefault("genre", (disclaimer.group("genre") or disclaimer.group("genre_en")).lower())
        return True
    short = len(text) <= MAX_FURNITURE_CHARS
    return bool(TEASER.match(text) or AGE_NOTICE.match(text) or (short and COMMERCIAL.search(text)))


def _cut_trailing_link_lists(blocks: list[Block]) -> list[Block]:
    """Drop everything from the first link-list heading that only short items follow."""
    for index, block in enumerate(blocks):
        label = block.text.strip().rstrip(":").lower()
        if index and label in LINK_LIST_HEADINGS and _only_short_items(blocks[index + 1:]):
            return blocks[:index]
    return blocks


def _only_short_items(blocks: list[Block]) -> bool:
    return all(len(b.text) <= MAX_FURNITURE_CHARS for b in blocks)


def _lift_rubric(blocks: list[Block], meta: dict) -> list[Block]:
    """A one-word heading right above another heading at the top is a rubric ("Debatt")."""
    if len(blocks) >= 2 and blocks[0].is_heading and blocks[1].is_heading:
        if len(blocks[0].text.split()) == 1:
            meta["rubric"] = blocks[0].text.strip()
            return blocks[1:]
    return blocks


def _mark_byline(blocks: list[Block], meta: dict) -> None:
    for block in blocks[:BYLINE_SEARCH_DEPTH]:
        match = BYLINE_PATTERN.match(block.text.strip())
        if match and "\n" not in block.text.strip() and block is not blocks[0]:
            block.kind = BYLINE
            meta["authors"] = _split_names(match.group("names"))
            if match.group("affiliation"):
                meta["affiliation"] = match.group("affiliation").strip()
            return


def _split_names(names: str) -> list[str]:
    parts = re.split(r"\s*(?:,|\bog\b|\band\b|&)\s*", names)
    return [p.strip() for p in parts if p.strip()]


def is_text(block: Block) -> bool:
    """Body text that belongs in the index (bylines included: they answer 'who wrote it')."""
    return block.kind in (TEXT, BYLINE)
