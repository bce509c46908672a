"""Every data type that flows through the pipeline, in the order the data meets them.

ingest -> Document, Section, Footnote; index -> Chunk, Label; retrieval -> Filters, Hit;
answer -> Source, Citation, Answer. Plain dataclasses; this module imports nothing from `rag`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Section:
    """A heading and everything under it, as character spans into `Document.text`.

    `start`..`end` covers the heading line and all subsections; `body_start`..`body_end`
    is the section's own text between its heading and the next heading of any level.
    `path` is the heading chain from the document's top heading down to this one.
    """

    path: tuple[str, ...]
    start: int
    end: int
    body_start: int
    body_end: int
    # The heading introduces a speaker group ("Politi: ..."), as ranked once by the ingest.
    is_group: bool = False

    @property
    def level(self) -> int:
        """Depth in the tree: 1 for the document's top heading."""
        return len(self.path)

    @property
    def heading(self) -> str:
        """The section's own heading text."""
        return self.path[-1]


@dataclass(frozen=True)
class Footnote:
    """A footnote lifted out of the body text.

    Its text sits in the notes block at the end of `Document.text` (`start`..`end`);
    `anchor` is the body offset where its marker stood.
    """

    n: int
    text: str
    section_path: tuple[str, ...]
    start: int
    end: int
    anchor: int


@dataclass
class Document:
    """One cleaned source document with its section tree and footnotes."""

    id: str
    title: str
    source: str
    text: str
    sections: list[Section] = field(default_factory=list)
    footnotes: list[Footnote] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def section_at(self, offset: int) -> Section | None:
        """The deepest section whose own body contains `offset`."""
        for section in self.sections:
            if section.body_start <= offset < section.body_end:
                return section
        return None

    def to_record(self) -> dict:
        """Everything, for storing in the index (`from_record` reads it back)."""
        return asdict(self)

    @classmethod
    def from_record(cls, data: dict) -> "Document":
        """Inverse of `to_record`."""
        sections = [Section(**{**s, "path": tuple(s["path"])}) for s in data["sections"]]
        footnotes = [Footnote(**{**f, "section_path": tuple(f["section_path"])}) for f in data["footnotes"]]
        return cls(**{**data, "sections": sections, "footnotes": footnotes})

    def to_json(self) -> dict:
        """The `rag docs --json` shape."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "meta": self.meta,
            "text": self.text,
            "sections": [
                {"path": list(s.path), "start": s.start, "end": s.end} for s in self.sections
            ],
            "footnotes": [
                {"n": f.n, "text": f.text, "section_path": list(f.section_path)}
                for f in self.footnotes
            ],
        }


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: `text == document.text[start:end]` exactly.

    `kind` is "body" for section text and "footnote" for a footnote's text.
    """

    id: str
    doc_id: str
    source: str
    title: str
    section_path: tuple[str, ...]
    text: str
    start: int
    end: int
    tokens: int
    kind: str = "body"

    def embedding_text(self) -> str:
        """What the embedder sees: the heading chain, then the passage."""
        return " > ".join(self.section_path) + "\n" + self.text

    def to_json(self) -> dict:
        """The `rag chunks --json` shape."""
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Chunk":
        """Inverse of `to_json`."""
        return cls(**{**data, "section_path": tuple(data["section_path"])})


# A vector's label: the document id and section path of the chunk it embeds.
Label = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Filters:
    """Restrict search to documents and/or a section-path prefix."""

    doc_ids: frozenset[str] = frozenset()
    section_prefix: tuple[str, ...] = ()

    def allows(self, chunk: Chunk) -> bool:
        """True if the chunk passes both filters."""
        return self.allows_label((chunk.doc_id, chunk.section_path))

    def allows_label(self, label: Label) -> bool:
        """True if a vector labelled (doc_id, section_path) passes both filters."""
        doc_id, section_path = label
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        return tuple(section_path[: len(self.section_prefix)]) == self.section_prefix

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.section_prefix)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and its rank in each retriever (1-based, None if absent).

    `row` is the chunk's row in the loaded index; `similarity` is the query's best cosine
    with the chunk or one of its sentence windows.
    """

    chunk: Chunk
    score: float
    ranks: dict
    row: int = -1
    similarity: float = 0.0


@dataclass(frozen=True)
class Source:
    """A numbered source an answer draws on: `n` is what `[n]` cites; `row` is its index row."""

    n: int
    chunk: Chunk
    row: int = -1


@dataclass(frozen=True)
class Citation:
    """A `[n]` marker resolved to the exact quote that supports the claim.

    `quote == document.text[start:end]` for the cited chunk's document.
    """

    n: int
    chunk_id: str
    doc_id: str
    title: str
    section_path: tuple[str, ...]
    quote: str
    start: int
    end: int

    def to_json(self) -> dict:
        """The citation object of `rag ask --json`."""
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Citation":
        """Inverse of `to_json`."""
        return cls(**{**data, "section_path": tuple(data["section_path"])})


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the sources it cites, and whether they support it.

    `support` is "supported", "unsupported" (with `reason`) or "uncited".
    """

    text: str
    citations: tuple[int, ...] = ()
    support: str = "supported"
    reason: str = ""

    def to_json(self) -> dict:
        """The sentence object of `rag ask --json`."""
        return {"text": self.text, "citations": list(self.citations), "support": self.support, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict) -> "AnswerSentence":
        """Inverse of `to_json`."""
        return cls(data["text"], tuple(data["citations"]), data["support"], data["reason"])


@dataclass
class Answer:
    """A finished answer: text with `[n]` markers, resolved citations, and what went wrong."""

    question: str
    text: str
    language: str
    abstained: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)
    uncited_sentences: list[str] = field(default_factory=list)
    closest: list[Chunk] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    search_query: str = ""
    timings_ms: dict = field(default_factory=dict)
    sentences: list[AnswerSentence] = field(default_factory=list)
    mode: str = "evidence"

    @property
    def unsupported(self) -> list[AnswerSentence]:
        """The sentences its sources do not support."""
        return [s for s in self.sentences if s.support == "unsupported"]

    def to_json(self) -> dict:
        """The `rag ask --json` shape."""
        return {
            "question": self.question,
            "answer": self.text,
            "language": self.language,
            "abstained": self.abstained,
            "backend": self.backend,
            "citations": [c.to_json() for c in self.citations],
            "uncited_sentences": self.uncited_sentences,
            "closest_matches": [c.to_json() for c in self.closest],
            "notices": self.notices,
            "search_query": self.search_query,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "answer_mode": self.mode,
            "sentences": [s.to_json() for s in self.sentences],
        }

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        """Inverse of `to_json` (timings come back rounded to 0.1 ms, as `to_json` wrote them)."""
        return cls(
            question=data["question"],
            text=data["answer"],
            language=data["language"],
            abstained=data["abstained"],
            backend=data["backend"],
            citations=[Citation.from_json(c) for c in data["citations"]],
            uncited_sentences=list(data["uncited_sentences"]),
            closest=[Chunk.from_json(c) for c in data["closest_matches"]],
            notices=list(data["notices"]),
            search_query=data["search_query"],
            timings_ms=dict(data["timings_ms"]),
            sentences=[AnswerSentence.from_json(s) for s in data["sentences"]],
            mode=data["answer_mode"],
        )
