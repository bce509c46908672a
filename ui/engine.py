"""The answering side of the app: one answerer per backend over the current index, and re-indexing."""
from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from rag.answer import Answerer, Finished
from rag.errors import IndexCorrupt, IndexMissing
from rag.index import Index, index_status, load_index, update_index
from rag.index.files import current_version
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.types import Answer, Document, Filters
from ui.conversation import Conversation
from ui.turns import TurnQueue
from ui.uploads import Upload, Verdict, store_uploads

_DONE = object()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AskOptions:
    """The settings panel's choices for one question."""

    backend: str | None = None  # None: the app's default backend
    k: int | None = None  # None: the `answer_sources` setting
    doc_ids: tuple[str, ...] = ()
    language: str | None = None  # None: answer in the question's language
    mode: str | None = None  # None: the `answer_mode` setting


class Engine:
    """Answerers sharing one index and embedder; a new index version swaps them all at once.

    An answer in flight keeps the answerer (and index) it started with, so swapping
    never pulls the index out from under it. Before each question the engine checks which
    version the index folder publishes (a symlink read): a version written by `rag index
    build` in another process is loaded in full, then swapped in.
    """

    def __init__(self, settings: Settings, answerer: Answerer):
        self.settings = settings
        self._default = answerer
        self._answerers = {answerer.backend.name: answerer}
        self._lock = threading.Lock()
        self._reloading = threading.Lock()
        self._turns: dict[str, TurnQueue] = {}  # per serial backend
        # One change to the corpus folder at a time: its files and the index update that follows.
        self._corpus_lock = threading.Lock()

    @property
    def index(self) -> Index:
        """The index answers come from: the published version (loaded when it changed)."""
        self._follow_published_version()
        return self._default.index

    @property
    def default_backend(self) -> str:
        """The backend used when the settings panel names none."""
        return self._default.backend.name

    def answerer(self, backend: str | None = None) -> Answerer:
        """The answerer for a backend name (created on first use); ValueError for unknown names."""
        self._follow_published_version()
        name = backend or self.default_backend
        with self._lock:
            if name not in self._answerers:
                base = self._default
                self._answerers[name] = Answerer(self.settings, base.retriever, backend=name)
            return self._answerers[name]

    def stream(self, conversation: Conversation, question: str, options: AskOptions = AskOptions()) -> Iterator:
        """The answerer's events for `question` in `conversation`; the finished answer joins the conversation.

        A serial backend's answers wait their turn, yielding `Queued` while they wait.
        """
        answerer = self.answerer(options.backend)
        if not getattr(answerer.backend, "serial", False):
            yield from self._answer(answerer, conversation, question, options)
            return
        turns, ticket = self._turn_queue(answerer.backend.name), object()
        try:
            yield from turns.wait_turn(ticket)
            yield from self._answer(answerer, conversation, question, options)
        finally:  # also when the user leaves while waiting: the next in line goes on
            turns.leave(ticket)

    def _answer(self, answerer: Answerer, conversation: Conversation, question: str, options: AskOptions) -> Iterator:
        events = answerer.stream(question, conversation.history(), k=options.k,
                                 filters=Filters(doc_ids=frozenset(options.doc_ids)), language=options.language,
                                 mode=options.mode)
        for event in events:
            if isinstance(event, Finished):
                conversation.add(event.answer, referenced_documents(event.answer, answerer.index))
            yield event

    def _turn_queue(self, backend: str) -> TurnQueue:
        with self._lock:
            return self._turns.setdefault(backend, TurnQueue())

    def ask(self, conversation: Conversation, question: str, options: AskOptions = AskOptions()) -> Answer:
        """The final answer of `stream`."""
        for event in self.stream(conversation, question, options):
            if isinstance(event, Finished):
                return event.answer
        raise RuntimeError("the answer stream ended without a final answer")

    def documents(self) -> list[Document]:
        """The indexed documents, in index order."""
        return list(self.index.documents.values())

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per document id, from the index manifest."""
        return {doc_id: info.get("chunks", 0) for doc_id, info in self.index.manifest["documents"].items()}

    def status(self) -> dict:
        """`rag index status` for the app's index and corpus."""
        return index_status(self.settings)

    def reindex(self, progress: Callable[[str], None]) -> str:
        """Bring the index in line with the corpus folder; returns a one-line summary."""
        report = update_index(self.settings, self._default.embedder, progress)
        self._follow_published_version()
        if report.changed_anything:
            return (f"Index updated in {report.seconds:.1f} s: {len(report.added)} added, {len(report.changed)} "
                    f"changed, {len(report.removed)} removed; {report.total_chunks} chunks.")
        return f"Index is already up to date ({report.total_chunks} chunks)."

    def add_documents(self, uploads: list[Upload], replace: bool = False,
                      progress: Callable[[str], None] = lambda message: None) -> tuple[list[Verdict], str]:
        """Store the uploads that pass the checks of `ui.uploads` in the corpus folder, then update
        the index (only new and changed documents are embedded); the verdicts and the update's summary."""
        with self._corpus_lock:
            progress(f"checking {len(uploads)} file(s)")
            verdicts = store_uploads(uploads, self.settings.corpus_dir, self.settings.upload_max_mb * 2**20, replace)
            for verdict in verdicts:
                progress(verdict.message())
            if not any(verdict.accepted for verdict in verdicts):
                return verdicts, "Nothing was added; the index is unchanged."
            return verdicts, self.reindex(progress)

    def remove_document(self, doc_id: str, progress: Callable[[str], None] = lambda message: None) -> str:
        """Delete an indexed document's file from the corpus folder and its chunks from the index;
        ValueError for an unknown id."""
        with self._corpus_lock:
            document = self.index.documents.get(doc_id)
            if document is None:
                raise ValueError(f"no document with id {doc_id!r} in the index")
            path = self._corpus_file(document.source)
            path.unlink(missing_ok=True)  # already gone: the update below still drops its chunks
            progress(f"removed {document.source}")
            return self.reindex(progress)

    def _corpus_file(self, source: str) -> Path:
        """The corpus file a document was loaded from; ValueError if its source leads out of the folder."""
        corpus = os.path.abspath(self.settings.corpus_dir)
        path = os.path.abspath(os.path.join(corpus, source))  # lexically: a link inside the corpus is the file
        if os.path.commonpath([corpus, path]) != corpus or path == corpus:
            raise ValueError(f"{source}: not a file in the corpus folder; remove it there by hand")
        return Path(path)

    def _follow_published_version(self) -> None:
        """Load the published index version if it is not the one answers come from.

        One thread loads while the others go on answering from the old version; the swap
        happens only once the new version is fully loaded, so no answer sees half of it.
        A version that cannot be loaded is logged and the old one kept.
        """
        try:
            published = current_version(self.settings.index_dir)
        except (IndexMissing, IndexCorrupt):
            return  # nothing usable published: keep answering from what is loaded
        if published.name == self._default.index.folder.name or not self._reloading.acquire(blocking=False):
            return
        try:
            if published.name != self._default.index.folder.name:
                self._swap_in(load_index(self.settings.index_dir))
        except (IndexMissing, IndexCorrupt, OSError) as error:
            log.warning("kept the loaded index: the new version cannot be loaded (%s)", error)
        finally:
            self._reloading.release()

    def _swap_in(self, index: Index) -> None:
        fresh = Answerer(self.settings, Retriever(index, self._default.embedder), backend=self.default_backend)
        with self._lock:
            self._default, self._answerers = fresh, {fresh.backend.name: fresh}
        log.info("answering from index version %s", index.folder.name)

    def reindex_progress(self, tick: float = 1.0) -> Iterator[str | None]:
        """Run `reindex` in a worker thread; yield its progress messages, None every `tick` seconds
        while it is quiet (embedding takes a while), and finally its summary."""
        messages: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["summary"] = self.reindex(messages.put)
            except Exception as error:  # re-raised below, in the caller's thread
                outcome["error"] = error
            finally:
                messages.put(_DONE)

        threading.Thread(target=work, name="rag-reindex", daemon=True).start()
        while True:
            try:
                message = messages.get(timeout=tick)
            except queue.Empty:
                yield None
                continue
            if message is _DONE:
                break
            yield message
        if "error" in outcome:
            raise outcome["error"]
        yield outcome["summary"]


def referenced_documents(answer: Answer, index: Index) -> dict[str, Document]:
    """The documents an answer's citations and closest matches point into."""
    doc_ids = {c.doc_id for c in answer.citations} | {chunk.doc_id for chunk in answer.closest}
    return {doc_id: index.documents[doc_id] for doc_id in doc_ids if doc_id in index.documents}
