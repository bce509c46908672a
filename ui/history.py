"""Saved conversations: every answered turn in a SQLite file in the data folder, per owner.

The owner is the logged-in user name ("" without a login); every query filters by it, so
another user's conversation id reads exactly like an id that never existed. A turn stores
its answer as `rag ask --json` and only the ids of the documents it points into: reopening
takes those documents from the current index (a document removed or changed since is left
out; the citation's quote, kept in the answer, still shows what it said).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from rag.errors import report
from rag.settings import Settings
from rag.types import Answer, Document
from ui.conversation import Conversation, Turn

FILE_NAME = "history.sqlite3"
TITLE_CHARS = 80
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    answer_json TEXT NOT NULL,
    doc_ids_json TEXT NOT NULL,
    PRIMARY KEY (conversation_id, n)
);
"""


class HistoryUnavailable(Exception):
    """The conversations file cannot be opened or read; the message names it and what to do."""


@dataclass(frozen=True)
class Summary:
    """One line of the conversation list."""

    id: str
    title: str
    created: float
    updated: float


def data_folder(settings: Settings) -> Path:
    """The `data_dir` setting, or by default `rag-data` next to the index folder."""
    if settings.data_dir != Path(""):
        return settings.data_dir
    return settings.index_dir.parent / "rag-data"


def open_history(settings: Settings) -> tuple["HistoryStore", str | None]:
    """The store in the data folder, or, when that file is unusable, one in memory and the notice
    to show: the app still answers (and follow-ups work) but nothing outlives a restart."""
    folder = data_folder(settings)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return HistoryStore(folder / FILE_NAME), None
    except (HistoryUnavailable, OSError) as error:
        notice = f"Conversations are not saved in this run: {error}"
        report("warning", notice)
        return HistoryStore(":memory:"), notice


def title_of(question: str) -> str:
    """The list title for a question: one line, at most TITLE_CHARS characters."""
    title = " ".join(question.split())
    return title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS - 1].rstrip() + "…"


class HistoryStore:
    """Conversations in one SQLite file (WAL), each write one transaction.

    One connection shared behind a lock: answers finish on several worker threads, and SQLite
    writes one at a time anyway.
    """

    def __init__(self, path: Path | str):
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as error:
            raise HistoryUnavailable(
                f"{path} is not a readable conversations database ({error}). Move it away (or delete it) "
                f"and restart the app to start a new one.") from error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def save(self, owner: str, conversation: Conversation) -> None:
        """Store the conversation's turns not stored yet; KeyError if its id belongs to another owner."""
        if not conversation.turns:
            return
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT owner FROM conversations WHERE id = ?", (conversation.id,)).fetchone()
            if row is None:
                db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (
                    conversation.id, owner, title_of(conversation.turns[0].answer.question), now, now))
            elif row[0] != owner:
                raise KeyError(conversation.id)
            else:
                db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation.id))
            stored = db.execute("SELECT count(*) FROM turns WHERE conversation_id = ?",
                                (conversation.id,)).fetchone()[0]
            db.executemany("INSERT INTO turns VALUES (?, ?, ?, ?)", [
                (conversation.id, n, json.dumps(turn.answer.to_json()), json.dumps(sorted(turn.documents)))
                for n, turn in enumerate(conversation.turns) if n >= stored])

    def list(self, owner: str) -> list[Summary]:
        """The owner's conversations, the most recently answered first."""
        with self._lock:
            rows = self._db.execute("SELECT id, title, created, updated FROM conversations WHERE owner = ? "
                                    "ORDER BY updated DESC, created DESC", (owner,)).fetchall()
        return [Summary(*row) for row in rows]

    def load(self, owner: str, conversation_id: str, resolve: Callable[[str], Document | None]) -> Conversation | None:
        """The owner's conversation with its turns (documents by `resolve`), or None."""
        with self._lock:
            if not self._owned(owner, conversation_id):
                return None
            rows = self._db.execute("SELECT answer_json, doc_ids_json FROM turns WHERE conversation_id = ? "
                                    "ORDER BY n", (conversation_id,)).fetchall()
        turns = []
        for answer_json, doc_ids_json in rows:
            answer = Answer.from_json(json.loads(answer_json))
            turns.append(Turn(answer, _documents(answer, json.loads(doc_ids_json), resolve)))
        return Conversation(id=conversation_id, turns=turns)

    def rename(self, owner: str, conversation_id: str, title: str) -> bool:
        """Give the owner's conversation a new title; False if there is no such conversation."""
        with self._transaction() as db:
            changed = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                                 (title_of(title), conversation_id, owner))
            return changed.rowcount == 1

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Delete the owner's conversation and its turns; False if there is no such conversation."""
        with self._transaction() as db:
            deleted = db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
            return deleted.rowcount == 1

    def _owned(self, owner: str, conversation_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                               (conversation_id, owner)).fetchone()
        return row is not None


def _documents(answer: Answer, doc_ids: list[str], resolve: Callable[[str], Document | None]) -> dict[str, Document]:
    """The turn's documents as the index has them now, each only if the answer's quotes still sit
    at their offsets in it (after a change they would mark the wrong text)."""
    documents = {}
    for doc_id in doc_ids:
        document = resolve(doc_id)
        spans = [(c.start, c.end, c.quote) for c in answer.citations if c.doc_id == doc_id]
        spans += [(c.start, c.end, c.text) for c in answer.closest if c.doc_id == doc_id]
        if document is not None and all(document.text[start:end] == text for start, end, text in spans):
            documents[doc_id] = document
    return documents
