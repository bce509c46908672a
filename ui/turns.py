"""First come, first served, one at a time: the queue in front of a serial backend.

A local model uses every core for one answer, so two answers at once would each take
twice as long. Questions for it wait their turn here and learn how many are ahead.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Queued:
    """An answer waiting for a serial backend: `ahead` answers come before it."""

    ahead: int


class TurnQueue:
    """Tickets in arrival order; the first one holds the backend."""

    def __init__(self, poll_seconds: float = 1.0):
        self._poll = poll_seconds
        self._changed = threading.Condition()
        self._tickets: list[object] = []

    def wait_turn(self, ticket: object) -> Iterator[Queued]:
        """Join the queue and yield `Queued` whenever the number ahead changes; returns when it is
        this ticket's turn. The caller must `leave` (also when it gives up waiting)."""
        with self._changed:
            self._tickets.append(ticket)
        shown = None
        while True:
            with self._changed:
                ahead = self._tickets.index(ticket)
                if ahead and ahead == shown:  # shown already: wait for a change (or the poll)
                    self._changed.wait(self._poll)
                    continue
            if not ahead:
                return
            # Shown before any wait: a place that lasts less than one poll is still reported.
            shown = ahead
            yield Queued(ahead)

    def leave(self, ticket: object) -> None:
        """Give up a place or the turn itself; the next in line goes on."""
        with self._changed:
            if ticket in self._tickets:
                self._tickets.remove(ticket)
            self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            return len(self._tickets)
