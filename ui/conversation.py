"""Conversations: the answered turns of one chat (saved by `ui.history`)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from rag.types import Answer, Document


@dataclass
class Turn:
    """One answered question, with the documents its sources point into as they were when answered.

    Keeping the documents (references, not copies) means a citation still opens the right
    passage after a re-index changed or removed its document.
    """

    answer: Answer
    documents: dict[str, Document]


@dataclass
class Conversation:
    """The turns of one chat; `history` is what the answerer needs for follow-ups."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turns: list[Turn] = field(default_factory=list)

    def add(self, answer: Answer, documents: dict[str, Document]) -> int:
        """Append a turn; returns its number (0-based), which source links carry."""
        self.turns.append(Turn(answer, documents))
        return len(self.turns) - 1

    def history(self) -> list[dict]:
        """Chat messages; the user turn carries the standalone query so chained follow-ups work."""
        messages: list[dict] = []
        for turn in self.turns:
            messages.append({"role": "user", "content": turn.answer.question,
                             "search_query": turn.answer.search_query})
            messages.append({"role": "assistant", "content": turn.answer.text})
        return messages

    @property
    def answers(self) -> list[Answer]:
        """The answers, in order."""
        return [turn.answer for turn in self.turns]
