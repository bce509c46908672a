"""Every error a user may see, in one place, and the one way commands print diagnostics.

Each message names the file, setting or server at fault and says what to do next.
This package imports nothing else from `rag`: every layer may raise these. `redact` (in
rag.errors.redact) masks credentials out of server text before it becomes part of a message.
"""
from __future__ import annotations

import sys


class RagError(Exception):
    """An error meant for the user: the message alone tells them what went wrong and what to do."""


class SettingsError(RagError, ValueError):
    """A setting has a value that cannot be used."""


class IngestError(RagError):
    """A document could not be loaded; the message names the file and what to do."""


class IndexMissing(RagError):
    """There is no index in the folder yet."""


class IndexCorrupt(RagError):
    """The index folder exists but cannot be loaded; the message says how to fix it."""


class StoreError(RagError, RuntimeError):
    """A vector store (Milvus) cannot be used; the message says which setting or server to fix."""


class ModelFileError(RagError, ValueError):
    """The bundled embedding model's file cannot be read (truncated, corrupt, unknown format)."""


class EmbeddingError(RagError):
    """A hosted embeddings server could not embed (unreachable, timed out, refused, malformed reply)."""


class EmbeddingMismatch(RagError):
    """The index was built with another embedding model (or dimension) than the one asked for."""


class BackendError(RagError):
    """An answer backend could not answer (unreachable, timed out, refused, malformed reply)."""


class SuiteError(RagError, ValueError):
    """Evaluation suite data that cannot be turned into queries (missing file, quote not found, ...)."""


def report(level: str, message: str) -> None:
    """Print a diagnostic for the user on stderr: `error: ...`, `warning: ...` or `note: ...`."""
    print(f"{level}: {message}", file=sys.stderr, flush=True)
