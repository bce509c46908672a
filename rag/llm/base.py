"""The backend protocol every answer generator implements, built-in or third-party."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

from rag.types import Chunk


class BackendError(Exception):
    """A backend could not answer (unreachable, timed out, refused, malformed reply)."""


@dataclass(frozen=True)
class Source:
    """A numbered source shown to the backend: `n` is what `[n]` cites."""

    n: int
    chunk: Chunk


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

    def stream(self, prompt: Prompt, max_tokens: int, timeout: float) -> Iterator[str]:
        """Yield text deltas; raise BackendError on failure (the caller falls back)."""


@dataclass
class BackendContext:
    """What a backend factory gets: the settings and the shared embedding model."""

    settings: object
    embedder: object = None
    index: object = None
