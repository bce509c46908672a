"""What an answer stream yields, and the state of one question while it is answered."""
from __future__ import annotations

from dataclasses import dataclass, field

from rag.retrieval.perspective import Mention
from rag.types import Answer, Hit


@dataclass
class SourcesFound:
    """Retrieval finished: the hits the answer will draw on."""

    hits: list[Hit]
    search_query: str
    about_named: bool = False  # the question asks about a perspective it names as a whole


@dataclass
class TextDelta:
    """A piece of answer text as it was produced (a token, or a whole checked sentence)."""

    text: str


@dataclass
class Finished:
    """The final, post-processed answer."""

    answer: Answer


@dataclass
class Turn:
    """One question on its way to an answer."""

    question: str
    search_query: str
    language: str
    hits: list[Hit]
    speakers: list[Mention] = field(default_factory=list)  # the perspectives the question named as speakers
    about_named: bool = False  # ... and nothing else ("Summarise the op-ed")
    timings: dict = field(default_factory=dict)
    deadline: float = 0.0  # monotonic time by which the backend must be done
