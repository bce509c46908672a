"""The conversation as a Markdown file, for the chat's export button.

Text from documents, users and models is written verbatim but for `<` and `&` (so that no
viewer turns it into HTML) and the characters XML forbids (so that converting the file to Word
or HTML cannot fail).
"""
from __future__ import annotations

import re
from typing import Sequence

from rag.briefing.export import xml_safe
from rag.types import Answer, Citation
from ui.render import citation_groups, headings_below

LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")  # a single one: the answer's lead ends its own line


def conversation_markdown(answers: Sequence[Answer], exported: str) -> str:
    """The conversation as Markdown: each question, answer, and its citations with their quotes."""
    lines = ["# Conversation", "", f"Exported {exported}.", ""]
    for number, answer in enumerate(answers, start=1):
        lines += [f"## {number}. {_md(answer.question)}", "", LINE_BREAK.sub("  \n", _md(answer.text)), ""]
        lines += [f"> Not supported by its sources: «{_md(s.text)}» ({_md(s.reason)})" for s in answer.unsupported]
        lines += [""] if answer.unsupported else []
        lines += [f"> Note: {_md(notice)}" for notice in answer.notices] + ([""] if answer.notices else [])
        lines += _markdown_sources(answer)
    return xml_safe("\n".join(lines)).rstrip() + "\n"


def _markdown_sources(answer: Answer) -> list[str]:
    if answer.abstained:
        heading = ["**Closest matches**", ""] if answer.closest else []
        return heading + [f"- {_where(c.title, c.section_path)}" for c in answer.closest] + [""]
    lines = ["**Sources**", ""] if answer.citations else []
    for n, group in citation_groups(answer.citations).items():
        lines.append(f"- [{n}] {_where(group[0].title, group[0].section_path)}")
        lines += [_quoted(c) for c in group]
    return lines + [""]


def _where(title: str, section_path: Sequence[str]) -> str:
    """"Title — Heading › Subheading", the title once (a section path starts with it)."""
    headings = headings_below(section_path, title)
    return _md(title) + (f" — {_md(' › '.join(headings))}" if headings else "")


def _quoted(citation: Citation) -> str:
    # The characters locate the quote in the cleaned document text (`rag ask --json` gives the same).
    return f"  > {_md(' '.join(citation.quote.split()))} (characters {citation.start}–{citation.end})"


def _md(text: str) -> str:
    """Text for the Markdown file: `<` escaped so no viewer turns document text into HTML tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;")
