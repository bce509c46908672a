"""The perspectives of a briefing: speaker groups found in the corpus structure, or named in settings.

Found: a section whose heading introduces a speaker group ("Politi: Ressursmangel, ...",
the shape the ingest ranks as a group heading) is one group; a document with named
authors and no such sections (an op-ed) is one group as a whole.
Named: the `briefing_groups` setting, "Label=match; match; ...", where a match is the
start of a section heading or a document's title or id; it replaces the found groups.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from rag.errors import SettingsError
from rag.types import Document, Filters


@dataclass(frozen=True)
class Group:
    """A perspective: a speaker group's section of a document, or a whole document (empty prefix)."""

    label: str
    doc_id: str
    title: str
    section_prefix: tuple[str, ...] = ()

    @property
    def filters(self) -> Filters:
        """Search filters that keep a search within this group's text."""
        return Filters(doc_ids=frozenset({self.doc_id}), section_prefix=self.section_prefix)

    @property
    def heading(self) -> str:
        """The group's own heading, or the document title for a whole document."""
        return self.section_prefix[-1] if self.section_prefix else self.title


def find_groups(documents: Iterable[Document], named: str = "") -> list[Group]:
    """The groups named by the `briefing_groups` setting, else those found in the corpus structure."""
    documents = list(documents)
    if named.strip():
        return [_named_group(spec, documents) for spec in named.split(";") if spec.strip()]
    groups: list[Group] = []
    for document in documents:
        group_paths = {s.path for s in document.sections if s.is_group}
        sections = [s for s in document.sections
                    if s.is_group and not any(s.path[:depth] in group_paths for depth in range(1, len(s.path)))]
        groups += [Group(_label(s.heading), document.id, document.title, s.path) for s in sections]
        authors = document.meta.get("authors") or []
        if not sections and authors:
            groups.append(Group(", ".join(authors), document.id, document.title))
    return groups


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
