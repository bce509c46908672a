"""Load a folder of documents (.txt, .md, .html, .pdf, .docx) into `Document`s.

One bad file never stops the others: it becomes a `Problem` naming the file.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import IngestError
from rag.ingest.blocks import TEXT, Parsed
from rag.ingest.cleanup import clean_blocks
from rag.ingest.encoding import decode_text
from rag.ingest.footnotes import split_glued_footnotes
from rag.ingest.html import parse_html
from rag.ingest.markdown import parse_markdown
from rag.ingest.office import parse_docx, parse_pdf
from rag.ingest.plaintext import parse_plain_text
from rag.ingest.structure import build_layout
from rag.types import Document

__all__ = ["IngestError", "Problem", "CorpusLoad", "load_corpus", "load_document", "SUPPORTED"]

log = logging.getLogger(__name__)

TEXT_PARSERS = {
    ".txt": lambda text: Parsed(parse_plain_text(text)),
    ".md": lambda text: Parsed(parse_markdown(text)),
    ".markdown": lambda text: Parsed(parse_markdown(text)),
    ".html": parse_html,
    ".htm": parse_html,
}
BINARY_PARSERS = {".pdf": parse_pdf, ".docx": parse_docx}
SUPPORTED = frozenset(TEXT_PARSERS) | frozenset(BINARY_PARSERS)
MAX_FILE_BYTES = 100 * 1024 * 1024
# About 6,000 pages: larger "documents" are dumps or junk, and would take hours to embed.
MAX_TEXT_CHARS = 10_000_000


@dataclass
class Problem:
    """A file that was skipped, failed, or loaded with a caveat."""

    path: str
    message: str
    level: str = "error"


@dataclass
class CorpusLoad:
    """The documents of a corpus folder and the problems met while loading it."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def source_of(path: str | Path, folder: Path) -> str:
    """A file's `Document.source`: its path relative to the corpus folder (as given, if outside it)."""
    for candidate, base in ((Path(path), Path(folder)), (Path(path).resolve(), Path(folder).resolve())):
        if candidate.is_relative_to(base):  # as loaded (see `load_document`), or through links
            return candidate.relative_to(base).as_posix()
    return str(path)


def load_corpus(folder: Path) -> CorpusLoad:
    """Load every supported file under `folder`, in sorted path order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder}: corpus folder not found; pass --corpus DIR or set RAG_CORPUS_DIR")
    result = CorpusLoad()
    for path in sorted(p for p in folder.rglob("*") if not _hidden(p, folder)):
        if path.is_dir():
            continue
        _load_into(result, path, folder)
    _make_ids_unique(result.documents)
    return result


def _load_into(result: CorpusLoad, path: Path, folder: Path) -> None:
    if path.suffix.lower() not in SUPPORTED:
        result.problems.append(Problem(str(path), f"{path}: skipped, unsupported file type", "warning"))
        log.warning("%s: skipped, unsupported file type", path)
        return
    try:
        document, warnings = load_document(path, folder)
    except IngestError as error:
        result.problems.append(Problem(str(path), str(error)))
        return
    except Exception as error:  # a parser bug on one odd file must not stop the corpus
        result.problems.append(Problem(str(path), f"{path}: could not be read ({error.__class__.__name__}: {error})"))
        return
    result.documents.append(document)
    result.problems.extend(Problem(str(path), w, "warning") for w in warnings)


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def load_document(path: Path, root: Path | None = None) -> tuple[Document, list[str]]:
    """One file as a `Document`, plus warnings (e.g. an encoding fallback)."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    data = _read_bytes(path, root)
    parsed, warnings = _parse(path, data)
    blocks, found_meta = clean_blocks(parsed.blocks)
    for block in blocks:
        if block.kind == TEXT:
            block.text, block.footnotes = split_glued_footnotes(block.text)
    relative = path.relative_to(root).as_posix()
    layout = build_layout(blocks, fallback_title=parsed.meta.get("title") or path.stem)
    _check_length(path, layout.text)
    if not layout.text.strip():
        raise IngestError(f"{path}: no text left after removing page furniture")
    meta = {**parsed.meta, **found_meta, "source_file": relative, "format": path.suffix.lower().lstrip("."),
            "content_hash": hashlib.sha256(data).hexdigest()}
    meta["title"] = layout.title
    document = Document(
        id=str(Path(relative).with_suffix("")), title=layout.title, source=relative, text=layout.text,
        sections=layout.sections, footnotes=layout.footnotes, meta=meta,
    )
    return document, warnings


def _read_bytes(path: Path, root: Path) -> bytes:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise IngestError(f"{path}: points outside the corpus folder ({resolved}); refusing to read it")
    try:
        if not resolved.is_file():  # a FIFO or device would block or never end
            raise IngestError(f"{path}: not a regular file; remove it from the corpus folder")
        size = resolved.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"{path}: {size // 2**20} MB is larger than the {MAX_FILE_BYTES // 2**20} MB limit")
        return resolved.read_bytes()
    except OSError as error:
        raise IngestError(f"{path}: cannot be read ({error.strerror or error})") from error


def _parse(path: Path, data: bytes) -> tuple[Parsed, list[str]]:
    suffix = path.suffix.lower()
    if suffix in BINARY_PARSERS:
        if not data.strip():
            raise IngestError(f"{path}: the file is empty; add content or remove it from the corpus")
        return BINARY_PARSERS[suffix](path), []
    if len(data) > 4 * MAX_TEXT_CHARS:  # too long even if every character took 4 bytes: skip decoding
        raise IngestError(f"{path}: {len(data) // 2**20} MB of text is more than the {MAX_TEXT_CHARS // 1_000_000} "
                          "million characters a document may have; split it into smaller files")
    text, warning = decode_text(path, data)
    _check_length(path, text)
    return TEXT_PARSERS[suffix](text), [warning] if warning else []


def _check_length(path: Path, text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise IngestError(f"{path}: {len(text) / 1e6:.0f} million characters is more than the "
                          f"{MAX_TEXT_CHARS // 1_000_000} million a document may have; split it into smaller files")


def _make_ids_unique(documents: list[Document]) -> None:
    """Files that differ only in extension (a.md, a.txt) keep their extension in the id."""
    seen: dict[str, int] = {}
    for document in documents:
        seen[document.id] = seen.get(document.id, 0) + 1
    for document in documents:
        if seen[document.id] > 1:
            document.id = document.source
