"""Cut footnotes that a copy from PDF glued into the running text.

In such copies the footnote number follows a sentence end directly and the note's
text follows the number: "... begge lidelsene.76Helsedirektoratet, ... (2012,
oppdatert 2022). Her mener ...". A footnote is its first sentence plus any following
sentences that read as references (a date, a year in parentheses, "Se ...", a URL);
the body resumes with the first sentence that does not.
"""
from __future__ import annotations

import re

from rag.ingest.blocks import GluedFootnote

# A sentence end (possibly closing a quote), then 1-3 digits, then a capital or «.
MARKER = re.compile(r"(?:(?<=[.!?][»”\"])|(?<=[.!?]))(?P<n>\d{1,3})(?=[«\"A-ZÆØÅ])")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])[»”\"]?\s+(?=[«\"A-ZÆØÅ])")
REFERENCE = re.compile(
    r"\b\d{1,2}\.\d{1,2}\.\d{4}\b|\([^()]*\b(?:1[89]|20)\d{2}\b|^(?:Se|See|Jf\.|Cf\.|Kilde)\b|"
    r"https?://|www\.|\bISBN\b|\bpkt\.|\bs\. \d"
)


def split_glued_footnotes(text: str) -> tuple[str, list[GluedFootnote]]:
    """The text with glued footnotes removed, and the footnotes with their anchors."""
    body_parts: list[str] = []
    notes: list[GluedFootnote] = []
    cursor = 0
    for marker in MARKER.finditer(text):
        if marker.start() < cursor:
            continue
        note_end = _footnote_end(text, marker.end())
        note_text = text[marker.end():note_end].strip()
        if len(note_text.split()) < 2:
            continue
        body_parts.append(text[cursor:marker.start()])
        anchor = sum(len(part) for part in body_parts)
        notes.append(GluedFootnote(int(marker.group("n")), note_text, anchor))
        cursor = note_end
    body_parts.append(text[cursor:])
    return "".join(body_parts), notes


def _footnote_end(text: str, start: int) -> int:
    """Offset where the body resumes after a footnote starting at `start`."""
    sentences = _sentence_spans(text, start)
    end = sentences[0][1]
    for sentence_start, sentence_end in sentences[1:]:
        if not REFERENCE.search(text[sentence_start:sentence_end]):
            break
        end = sentence_end
    return end


def _sentence_spans(text: str, start: int) -> list[tuple[int, int]]:
    """Sentence spans from `start` to the end of the paragraph."""
    spans = []
    position = start
    for gap in SENTENCE_BREAK.finditer(text, start):
        closing = len(gap.group(0)) - len(gap.group(0).lstrip("»”\""))
        spans.append((position, gap.start() + closing))
        position = gap.end()
    spans.append((position, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]
