"""The Corpus tab: the indexed documents and the index status, re-indexing, adding documents
(drag and drop or a file picker) and removing them; and the same as API endpoints,
`add_documents` and `remove_document`.

Uploads are checked by `ui.uploads` before they touch the corpus folder; the engine then
updates the index incrementally.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData
from gradio.utils import get_upload_folder

from rag.errors import IndexCorrupt, IndexMissing, IngestError, SettingsError
from rag.ingest import SUPPORTED
from ui.confirm import Confirmation, refused
from ui.corpus_view import corpus_html
from ui.engine import Engine
from ui.uploads import Upload, Verdict

# Add, remove, re-index and their API twins change the corpus folder: one at a time.
CORPUS_QUEUE = "reindex"
INDEX_ERRORS = (IngestError, IndexMissing, IndexCorrupt, SettingsError, OSError)
# Where each phase of adding or removing puts the progress bar (the update's own messages name the phase).
PHASES = (("checking", 0.05), ("removed", 0.1), ("embedding", 0.2), ("storing", 0.8), ("indexing", 0.9))
# "embedding sentence windows: ..." or, when windows are added up from sentences, "embedding sentences: ...".
EMBEDDED_SHARE = re.compile(r"^embedding (?:chunks|sentence).*: \d+/\d+ \((\d+)%\)")


@dataclass
class CorpusPanels:
    """The corpus tab's components."""

    tab: gr.Tab
    table: gr.HTML
    refresh: gr.Button
    reindex: gr.Button
    log: gr.Textbox
    files: gr.File
    replace: gr.Checkbox
    add: gr.Button
    remove_choice: gr.Dropdown
    remove: Confirmation
    changes: gr.Textbox


def corpus_tab(engine: Engine, tab: gr.Tab) -> CorpusPanels:
    """The tab's components, laid out in the current `gr.Tab`."""
    table = gr.HTML(corpus_view(engine), elem_id="rag-corpus")
    with gr.Row():
        refresh = gr.Button("Check status", size="sm")
        reindex = gr.Button("Re-index the corpus folder", variant="primary", size="sm", elem_id="rag-reindex")
    log = gr.Textbox(label="Re-indexing progress", lines=6, interactive=False, elem_id="rag-reindex-log")
    gr.Markdown(f"### Add documents\n{', '.join(sorted(SUPPORTED))}; up to {engine.settings.upload_max_mb} MB "
                "each. Each file is checked before it is added; refused files are listed with the reason.")
    files = gr.File(label="Documents", file_count="multiple", file_types=sorted(SUPPORTED), elem_id="rag-upload")
    with gr.Row():
        replace = gr.Checkbox(False, label="Replace documents with the same file name", elem_id="rag-replace")
        add = gr.Button("Add to the corpus", variant="primary", elem_id="rag-add")
    gr.Markdown("### Remove a document\nDeletes its file from the corpus folder and its passages from the index.")
    with gr.Row():
        remove_choice = gr.Dropdown(document_choices(engine), value=None, label="Document",
                                    elem_id="rag-remove-choice")
        remove = gr.Button("Remove", variant="stop", elem_id="rag-remove")
    remove = Confirmation.build(remove, "Remove for good")
    changes = gr.Textbox(label="Added and removed", lines=6, interactive=False, elem_id="rag-changes")
    return CorpusPanels(tab, table, refresh, reindex, log, files, replace, add, remove_choice, remove, changes)


def corpus_view(engine: Engine) -> str:
    return corpus_html(engine.documents(), engine.chunk_counts(), engine.status())


def document_choices(engine: Engine) -> list[tuple[str, str]]:
    """(title, id) of every indexed document, for dropdowns."""
    return [(document.title, document.id) for document in engine.documents()]


def received_uploads(files: list | None) -> tuple[list[Upload], list[Verdict]]:
    """The uploads among `files` (Gradio FileData dicts) and verdicts on items that are not uploads.

    An API caller could name any server path in a FileData; only files inside Gradio's upload
    folder were sent by a user, so anything else is refused.
    """
    uploads, refusals = [], []
    upload_folder = Path(get_upload_folder()).resolve()
    for item in files or []:
        data = item if isinstance(item, dict) else {"path": str(item)}
        path = Path(str(data.get("path") or ""))
        name = str(data.get("orig_name") or path.name)
        if data.get("path") and path.resolve().is_relative_to(upload_folder) and path.resolve().is_file():
            uploads.append(Upload(name, path))
        else:
            refusals.append(Verdict(name, False, "not a file uploaded to this app"))
    return uploads, refusals


def wire_corpus(engine: Engine, panels: CorpusPanels, doc_filter: gr.Dropdown) -> None:
    """The tab's events; `doc_filter` (the chat's document filter) follows the indexed documents."""
    lists = [panels.table, doc_filter, panels.remove_choice]

    def refreshed() -> tuple:
        choices = document_choices(engine)
        return corpus_view(engine), gr.Dropdown(choices=choices), gr.Dropdown(choices=choices, value=None)

    def reindex():
        log: list[str] = []
        started = time.monotonic()
        try:
            for message in engine.reindex_progress():
                if message is not None:
                    log.append(message)
                working = [] if message else [f"working … {time.monotonic() - started:.0f} s"]
                yield "\n".join(log + working), gr.skip(), gr.skip(), gr.skip()
        except INDEX_ERRORS as error:
            raise gr.Error(f"Re-indexing failed: {error}")
        yield "\n".join(log), *refreshed()

    def add(files, replace, progress=gr.Progress()):
        uploads, refusals = received_uploads(files)
        if not uploads and not refusals:
            return refused("Choose or drop files first.", 2 + len(lists))
        log = [verdict.message() for verdict in refusals]
        try:
            verdicts, summary = engine.add_documents(uploads, bool(replace), _PhaseProgress(progress))
        except INDEX_ERRORS as error:
            raise gr.Error(f"Indexing the added documents failed: {error}")
        log += [verdict.message() for verdict in verdicts] + [summary]
        return "\n".join(log), None, *refreshed()

    def removing(doc_id, request: gr.Request) -> str:
        if not doc_id:
            raise gr.Error("Choose a document to remove first.")
        title = next((title for title, id_ in document_choices(engine) if id_ == doc_id), doc_id)
        return f"Remove «{title}»? Its file is deleted from the corpus folder and its passages from the index."

    def remove(doc_id, progress=gr.Progress()):
        if not doc_id:
            raise gr.Error("Choose a document to remove first.")
        try:
            summary = engine.remove_document(doc_id, _PhaseProgress(progress))
        except ValueError as error:
            raise gr.Error(str(error))
        except INDEX_ERRORS as error:
            raise gr.Error(f"Updating the index failed: {error}")
        return f"{doc_id}: removed\n{summary}", *refreshed()

    def refresh():
        return corpus_view(engine)

    changing = {"api_visibility": "private", "concurrency_id": CORPUS_QUEUE, "concurrency_limit": 1}
    panels.tab.select(refresh, outputs=panels.table, api_visibility="private")
    panels.refresh.click(refresh, outputs=panels.table, api_visibility="private")
    panels.reindex.click(reindex, outputs=[panels.log, *lists], **changing)
    # preprocess=False: the handler sees the names the user gave the files (FileData.orig_name), which
    # it must judge, and File's own type check would refuse the whole batch for one wrong file.
    panels.add.click(add, inputs=[panels.files, panels.replace], outputs=[panels.changes, panels.files, *lists],
                     preprocess=False, **changing)
    panels.remove.wire(removing, panels.remove_choice, remove, outputs=[panels.changes, *lists], **changing)


class _PhaseProgress:
    """A progress callback for the engine that moves a Gradio progress bar to the phase each message names."""

    def __init__(self, bar: gr.Progress):
        self.bar = bar
        self.fraction = 0.0

    def __call__(self, message: str) -> None:
        self.fraction = next((share for phase, share in PHASES if message.startswith(phase)), self.fraction)
        self.bar(self.fraction + self._within_embedding(message), desc=message)

    @staticmethod
    def _within_embedding(message: str) -> float:
        """How far into the embedding phase (0.2-0.8 of the bar) an encode's "a/b (p%)" report is:
        chunks fill its first half, sentence windows (or sentences) the second."""
        share = EMBEDDED_SHARE.search(message)
        if share is None:
            return 0.0
        return (0.0 if message.startswith("embedding chunks") else 0.3) + 0.3 * int(share.group(1)) / 100


def corpus_api(engine: Engine) -> None:
    """`/add_documents` and `/remove_document` for other tools (behind the app's login, like `/ask`)."""
    def add_documents(files: list[FileData], replace: bool = False) -> dict:
        """Add documents (.txt, .md, .html, .pdf, .docx) to the corpus and index them. Each file is checked
        (name, size, content); returns {"files": [{name, accepted, reason, stored_as, replaced}], "index": summary}.
        A file whose name is already in the corpus is refused unless `replace` is true."""
        uploads, refusals = received_uploads(files)
        try:
            verdicts, summary = engine.add_documents(uploads, bool(replace))
        except INDEX_ERRORS as error:
            raise gr.Error(f"Indexing the added documents failed: {error}")
        return {"files": [verdict.to_json() for verdict in refusals + verdicts], "index": summary}

    def remove_document(doc_id: str) -> dict:
        """Remove a document (its file and its passages) by its id, as in an answer's citations;
        returns {"removed": doc_id, "index": summary}."""
        try:
            summary = engine.remove_document(doc_id)
        except ValueError as error:
            raise gr.Error(str(error))
        except INDEX_ERRORS as error:
            raise gr.Error(f"Updating the index failed: {error}")
        return {"removed": doc_id, "index": summary}

    gr.api(add_documents, api_name="add_documents", concurrency_id=CORPUS_QUEUE, concurrency_limit=1)
    gr.api(remove_document, api_name="remove_document", concurrency_id=CORPUS_QUEUE, concurrency_limit=1)
