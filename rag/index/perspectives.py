"""Who speaks in the corpus: its perspectives, found from the structure and embedded at index time.

A section whose heading introduces a speaker group ("Politi: Ressursmangel, ...", a
heading the ingest marked `is_group`) is one perspective, labelled by the heading's part
before the colon; a document with named authors and no such sections (an op-ed) is one
perspective as a whole. Nothing here knows any group by name, so the same works for any
corpus whose sections are speakers, stakeholders or countries.

Each perspective is matched by several *forms*: its label, plus the corpus's own words
that share the label's stem ("Politi" -> "politiet", "politiets"), because a definite or
inflected form embeds much closer to its English translation than the bare heading word
(e5-small: "user organisations" vs "Brukerorganisasjoner" 0.85, vs "brukerorganisasjonene"
0.88). The forms are embedded once, at index time, and stored with the index.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from rag.embedding.remembered import Encoder
from rag.index.lexical import analyse
from rag.types import Chunk, Citation, Document, Filters

# Raised whenever the rule that finds perspectives or their forms changes: `rag index update`
# then re-finds them (reusing every vector), so no index keeps perspectives of an older rule.
PERSPECTIVES_VERSION = 4
FILE = "perspectives.json"
VECTORS = "perspectives.npy"
WORD = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
MAX_FORMS = 6
# A document with named authors is also named by its role ("what do the authors say"): the
# words for an author, not for any group, so nothing here knows the corpus's speakers.
AUTHOR_ROLES = ("the authors", "forfatterne")
MAX_ENDING = 3  # characters an inflection adds to a label (-et, -ene, -ets)
# Genres as documents name them (meta "genre"), in English: for the lead line, and as a form of an
# authored document's perspective ("summarise the op-ed" named no perspective: e5-small puts
# "the op-ed" far from "kronikken").
GENRES = {"kronikk": "op-ed", "debattinnlegg": "opinion piece", "leder": "editorial", "rapport": "report",
          "artikkel": "article", "notat": "memo", "høringssvar": "consultation response"}



@dataclass(frozen=True)
class Perspective:
    """A speaker group's section of a document (`section_prefix`), or a whole document (empty prefix)."""

    label: str
    doc_id: str
    title: str
    section_prefix: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()

    @property
    def filters(self) -> Filters:
        """Search filters that keep a search within this perspective's text."""
        return Filters(doc_ids=frozenset({self.doc_id}), section_prefix=self.section_prefix)

    @property
    def heading(self) -> str:
        """The group's own heading, or the document title for a whole document."""
        return self.section_prefix[-1] if self.section_prefix else self.title

    def covers(self, chunk: Chunk | Citation) -> bool:
        """True when `chunk` (or a citation) lies in this perspective's text."""
        return self.filters.allows_label((chunk.doc_id, chunk.section_path))


def find_perspectives(documents: Iterable[Document]) -> list[Perspective]:
    """The perspectives of a corpus, in document order (see the module docstring)."""
    documents = list(documents)
    vocabulary = _corpus_words(documents)
    found: list[Perspective] = []
    for document in documents:
        group_paths = {s.path for s in document.sections if s.is_group}
        groups = [s for s in document.sections
                  if s.is_group and not any(s.path[:depth] in group_paths for depth in range(1, len(s.path)))]
        for section in groups:
            label = section.heading.split(":", 1)[0].strip()
            found.append(Perspective(label, document.id, document.title, section.path, _forms([label], vocabulary)))
        authors = document.meta.get("authors") or []
        if not groups and authors:
            forms = (*authors, *AUTHOR_ROLES, *_kind_forms(document.meta, vocabulary))
            found.append(Perspective(", ".join(authors), document.id, document.title, (), tuple(forms)))
    return found


def _kind_forms(meta: dict, vocabulary: dict[str, set[str]]) -> tuple[str, ...]:
    """What an authored document is called: its genre ("kronikk", "the op-ed") and where it was
    published ("VG", "the VG article"). "What does the VG article argue?" named no perspective."""
    genre, publication = meta.get("genre", ""), meta.get("publication", "")
    english = GENRES.get(genre.lower())
    forms = [*_forms([genre], vocabulary), *((english, f"the {english}") if english else ())] if genre else []
    if publication:
        kinds = dict.fromkeys(kind for kind in (genre, english, "article") if kind)
        forms += [publication, *(f"{publication} {kind}" for kind in kinds)]
    return tuple(forms)


def perspective_of(chunk: Chunk | Citation, perspectives: list[Perspective]) -> Perspective | None:
    """The most specific perspective whose text holds `chunk` (or a citation), if any."""
    owners = [p for p in perspectives if p.covers(chunk)]
    return max(owners, key=lambda p: len(p.section_prefix)) if owners else None


def _corpus_words(documents: list[Document]) -> dict[str, set[str]]:
    """Stem -> the lower-cased words of the corpus with that stem."""
    words: dict[str, set[str]] = {}
    for document in documents:
        for word in {w.lower() for w in WORD.findall(document.text)}:
            for stem in analyse(word):
                words.setdefault(stem, set()).add(word)
    return words


def _forms(labels: list[str], vocabulary: dict[str, set[str]]) -> tuple[str, ...]:
    """The labels and the corpus's inflections of single-word labels (shortest first)."""
    forms = list(labels)
    for label in labels:
        stems = analyse(label)
        if len(stems) == 1:  # inflections only: "politiet", not the compound "politiloven"
            inflected = [w for w in vocabulary.get(stems[0], ()) if len(w) <= len(label) + MAX_ENDING]
            forms += sorted(inflected, key=lambda w: (len(w), w))
    unique = list(dict.fromkeys(f for f in forms if f))
    return tuple(unique[:MAX_FORMS])


@dataclass
class PerspectiveTable:
    """The corpus's perspectives and the vectors of their forms (row i belongs to `owners[i]`)."""

    perspectives: list[Perspective]
    vectors: np.ndarray  # (forms, dim) normalised query vectors
    owners: np.ndarray   # (forms,) index into `perspectives`

    @classmethod
    def build(cls, documents: Iterable[Document], encode: Encoder, dim: int) -> "PerspectiveTable":
        """Find the perspectives of `documents` and embed their forms."""
        perspectives = find_perspectives(documents)
        forms = [(n, form) for n, p in enumerate(perspectives) for form in p.forms]
        vectors = encode([form for _, form in forms]) if forms else np.zeros((0, dim), np.float32)
        return cls(perspectives, np.asarray(vectors, np.float32), np.array([n for n, _ in forms], np.int64))

    def save(self, folder: Path) -> None:
        """perspectives.json and perspectives.npy in `folder`."""
        records = [{**asdict(p), "section_prefix": list(p.section_prefix), "forms": list(p.forms)}
                   for p in self.perspectives]
        (folder / FILE).write_text(json.dumps({"perspectives": records, "owners": self.owners.tolist()},
                                              ensure_ascii=False), encoding="utf-8")
        np.save(folder / VECTORS, self.vectors)

    @classmethod
    def load(cls, folder: Path) -> "PerspectiveTable":
        """Inverse of `save`."""
        data = json.loads((folder / FILE).read_text(encoding="utf-8"))
        perspectives = [Perspective(r["label"], r["doc_id"], r["title"], tuple(r["section_prefix"]), tuple(r["forms"]))
                        for r in data["perspectives"]]
        vectors = np.load(folder / VECTORS)
        owners = np.array(data["owners"], np.int64)
        if len(owners) != len(vectors) or (len(owners) and owners.max() >= len(perspectives)):
            raise ValueError(f"{folder}: {FILE} and {VECTORS} disagree")
        return cls(perspectives, vectors, owners)

    def similarities(self, span_vectors: np.ndarray) -> np.ndarray:
        """(spans, perspectives): each span's best cosine with any form of each perspective."""
        scores = np.full((len(span_vectors), len(self.perspectives)), -np.inf, np.float32)
        if len(self.owners):
            by_form = span_vectors @ self.vectors.T
            spans = np.arange(len(span_vectors))[:, None]
            np.maximum.at(scores, (spans, self.owners[None, :]), by_form)  # each perspective's best form
        scores[np.isneginf(scores)] = -1.0  # a perspective without forms
        return scores
