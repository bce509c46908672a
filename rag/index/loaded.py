"""A loaded index version: documents, chunks in vector order, vector store, BM25, sentence windows.

`load_index` reads the published version (see `rag.index.files` for the layout) and
checks it against itself; `stale_reasons` says why it does not fit the current settings, and
`check_embedding` refuses to query it with another embedding model than the one it was built with.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import EmbeddingMismatch, IndexCorrupt
from rag.index.chunking import TEXT_RULES_VERSION
from rag.index.files import MANIFEST, current_version, read_chunks, read_documents
from rag.index.lexical import LexicalIndex
from rag.index.perspectives import PerspectiveTable
from rag.index.store import VectorStore, load_store
from rag.index.windows import WindowTable
from rag.settings import Settings
from rag.types import Chunk, Document

# 2: sections record whether their heading names a speaker group (`Section.is_group`), and the
# corpus's perspectives are embedded with the index (perspectives.json, perspectives.npy).
FORMAT_VERSION = 2
# What to do about an index of another embedding model.
REBUILD = "rebuild it with `rag index build`"


def vector_id(chunk_id: str) -> int:
    """The int64 id a chunk's vector is stored under (60 bits of its hex id)."""
    return int(chunk_id[:15], 16)


@dataclass
class Index:
    """A loaded index version: documents, chunks in vector order, vector store, BM25."""

    folder: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    store: VectorStore
    lexical: LexicalIndex
    windows: WindowTable
    perspectives: PerspectiveTable
    row_of_vector: dict[int, int] = field(default_factory=dict)

    def __post_init__(self):
        self.row_of_vector = {vector_id(c.id): row for row, c in enumerate(self.chunks)}
        # Chunk vectors in row order, for exact scoring of candidates and filtered search.
        self.vectors = self.store.vectors_for(np.array([vector_id(c.id) for c in self.chunks], dtype=np.int64))


def load_index(index_dir: Path) -> Index:
    """The current index version; IndexMissing or IndexCorrupt with a clear message."""
    folder = current_version(Path(index_dir))
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexCorrupt(f"{index_dir}: index format {manifest.get('format_version')} is not "
                               f"{FORMAT_VERSION}; run `rag index build`")
        documents = {d.id: d for d in read_documents(folder)}
        chunks = read_chunks(folder)
        store = load_store(folder / "vectors")
        lexical = LexicalIndex.load(folder / "lexical")
        windows = WindowTable.load(folder)
        perspectives = PerspectiveTable.load(folder)
    except IndexCorrupt:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexCorrupt(f"{index_dir}: cannot read the index ({error}); run `rag index build`") from error
    if len(store) != len(chunks) or manifest["counts"]["chunks"] != len(chunks):
        raise IndexCorrupt(f"{index_dir}: {len(chunks)} chunks but {len(store)} vectors; run `rag index build`")
    try:
        return Index(folder, manifest, documents, chunks, store, lexical, windows, perspectives)
    except KeyError as error:
        raise IndexCorrupt(f"{index_dir}: chunk table and vectors disagree ({error}); run `rag index build`") from error


def stale_reasons(manifest: dict, settings: Settings) -> list[str]:
    """Why an index built with `manifest` does not fit the current settings."""
    reasons = []
    if manifest["embedding"]["model"] != settings.embedding_model:
        reasons.append(f"embedding model {manifest['embedding']['model']!r} != {settings.embedding_model!r}")
    wanted = chunking_manifest(settings)
    built = manifest["chunking"]
    if built.get("text_rules") != TEXT_RULES_VERSION and {**built, "text_rules": TEXT_RULES_VERSION} == wanted:
        reasons.append(f"documents are now read and split into sentences by newer rules (version {TEXT_RULES_VERSION})")
    elif built != wanted:
        reasons.append(f"chunking {manifest['chunking']} != {wanted}")
    return reasons


def check_embedding(manifest: dict, model: str) -> None:
    """EmbeddingMismatch unless the index was built with embedding model `model`.

    Query vectors of another model live in another space (even at the same dimension):
    searching with them returns confident nonsense, so it is refused rather than guessed at."""
    built = manifest["embedding"]
    if built["model"] != model:
        raise EmbeddingMismatch(f"{_built_with(built)}; the settings ask for {model}: {REBUILD}, "
                                f"or set embedding_model back to {built['model']}")


def check_query_dim(manifest: dict, dim: int, source: str) -> None:
    """EmbeddingMismatch unless query vectors of `dim` numbers (from `source`) fit the index."""
    built = manifest["embedding"]
    if built["dim"] != dim:
        raise EmbeddingMismatch(f"{_built_with(built)}; {source} returns {dim}-dimensional vectors: {REBUILD}")


def _built_with(built: dict) -> str:
    return f"index built with {built['model']} (dim {built['dim']})"


def chunking_manifest(settings: Settings) -> dict:
    return {"max_tokens": settings.chunk_tokens, "overlap_tokens": settings.chunk_overlap_tokens,
            "sentence_windows": settings.sentence_windows, "window_vectors": settings.window_vectors,
            "text_rules": TEXT_RULES_VERSION}
