"""The backend protocol every answer generator implements, built-in or third-party."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

from rag.errors import BackendError
from rag.types import Source

__all__ = ["Backend", "BackendContext", "BackendError", "Prompt", "Source"]


@dataclass
class Prompt:
    """Everything a backend may use: chat messages for LLMs, structured sources for extractive."""

    messages: list[dict]          # OpenAI-style [{"role": ..., "content": ...}]
    question: str                 # the standalone question (after follow-up rewriting)
    language: str                 # "en" or "no": the language to answer in
    sources: list[Source] = field(default_factory=list)


class Backend(Protocol):
    """Streams the answer text for a prompt, as text deltas."""

    name: str
    context_window: int           # tokens the backend accepts (prompt + answer)
    # Optional: True when the backend answers one question at a time (a local model that uses
    # all cores); the app then queues its answers and shows each waiting user their place.
    serial: bool

    def stream(self, prompt: Prompt, max_tokens: int, timeout: float) -> Iterator[str]:
        """Yield text deltas; raise BackendError on failure (the caller falls back)."""


@dataclass
class BackendContext:
    """What a backend factory gets: the settings, the shared embedding model and the retriever."""

    settings: object
    embedder: object = None
    retriever: object = None
