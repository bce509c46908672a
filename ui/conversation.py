"""Conversations: the answered turns of one chat, and a bounded store of them for the API."""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from rag.types import Answer, Document

MAX_CONVERSATIONS = 1000


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


class ConversationStore:
    """Conversations by id, least recently used dropped beyond `capacity` (the API's memory)."""

    def __init__(self, capacity: int = MAX_CONVERSATIONS):
        self.capacity = capacity
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id (now most recently used), or None."""
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is not None:
                self._conversations.move_to_end(conversation_id)
            return conversation

    def new(self) -> Conversation:
        """A fresh conversation, stored."""
        conversation = Conversation()
        with self._lock:
            self._conversations[conversation.id] = conversation
            while len(self._conversations) > self.capacity:
                self._conversations.popitem(last=False)
        return conversation

    def __len__(self) -> int:
        return len(self._conversations)
