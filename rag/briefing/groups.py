"""The perspectives of a briefing: speaker groups found in the corpus structure, or named in settings.

Found: a section whose heading introduces a speaker group ("Politi: Ressursmangel, ...",
the shape the ingest ranks as a group heading) is one group; a document with named
authors and no such sections (an op-ed) is one group as a whole.
Named: the `briefing_groups` setting, "Label=match; match; ...", where a match is the
start of a section heading or a document's title or id; it replaces the found groups.
"""
from __future__ import annotations

from typing import Iterable

from rag.errors import SettingsError
from rag.index.perspectives import Perspective, find_perspectives
from rag.types import Document

# A briefing's group is one of the corpus's perspectives (see rag.index.perspectives).
Group = Perspective


def find_groups(documents: Iterable[Document], named: str = "") -> list[Group]:
    """The groups named by the `briefing_groups` setting, else those found in the corpus structure."""
    documents = list(documents)
    if named.strip():
        return [_named_group(spec, documents) for spec in named.split(";") if spec.strip()]
    return find_perspectives(documents)


def _label(heading: str) -> str:
    """'Politi: Ressursmangel, ...' -> 'Politi'."""
    return heading.split(":", 1)[0].strip()


def _named_group(spec: str, documents: list[Document]) -> Group:
    label, _, match = spec.rpartition("=")
    match = match.strip()
    for document in documents:
        if match.casefold() in (document.title.casefold(), document.id.casefold()):
            return Group(label.strip() or document.title, document.id, document.title)
        for section in document.sections:
            if section.heading.casefold().startswith(match.casefold()):
                return Group(label.strip() or _label(section.heading), document.id, document.title, section.path)
    raise SettingsError(f"briefing_groups: {match!r} matches no section heading or document title; "
                        "check the spelling against `rag docs`, or leave the setting empty to find groups")
