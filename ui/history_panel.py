"""The side panel of saved conversations: listed newest first, opened, renamed and deleted.

The chat saves each answered turn (`HistoryPanel.record`); the list is per logged-in user
(`owner_of`), filled when the page loads, so one user's titles never reach another's page.
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from rag.types import Document
from ui.confirm import Confirmation, refused
from ui.conversation import Conversation
from ui.history import HistoryStore
from ui.render import answer_html, document_placeholder, question_html, sources_html

log = logging.getLogger(__name__)


def owner_of(request: gr.Request | None) -> str:
    """Whose conversations a request reaches: the logged-in user, or "" without a login."""
    return (getattr(request, "username", None) or "") if request is not None else ""


@dataclass
class ChatTargets:
    """The chat components that opening or deleting a conversation rewrites."""

    chatbot: gr.Chatbot
    conversation: gr.State
    sources: gr.HTML
    document: gr.HTML
    export: gr.DownloadButton
    new: gr.Button


@dataclass
class HistoryPanel:
    """The store, its components and the notice shown when conversations are not being saved."""

    store: HistoryStore
    notice: str | None
    resolve: Callable[[str], Document | None]
    listing: gr.Radio | None = None
    title: gr.Textbox | None = None
    rename: gr.Button | None = None
    delete: Confirmation | None = None

    def build(self) -> None:
        """The sidebar; call inside the app's Blocks."""
        with gr.Sidebar(label="Conversations", open=True, elem_id="rag-history"):
            gr.Markdown("### Conversations")
            if self.notice:
                gr.Markdown(self.notice, elem_id="rag-history-notice")
            self.listing = gr.Radio([], value=None, show_label=False, label="Saved conversations",
                                    elem_id="rag-history-list")
            self.title = gr.Textbox(label="Title of the open conversation", elem_id="rag-history-title",
                                    max_lines=1)
            with gr.Row():
                self.rename = gr.Button("Rename", size="sm", elem_id="rag-history-rename")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-history-delete")
            self.delete = Confirmation.build(delete, "Delete for good")
            gr.Markdown("Export an open conversation with the button under the chat.")

    def record(self, owner: str, conversation: Conversation) -> None:
        """Save the conversation's new turns; a failure is a warning, never a lost answer."""
        try:
            self.store.save(owner, conversation)
        except (sqlite3.Error, KeyError) as error:
            log.warning("conversation %s not saved: %s", conversation.id, error)
            gr.Warning(f"This conversation could not be saved ({error}).")

    def load(self, owner: str, conversation_id: str) -> Conversation | None:
        """The owner's saved conversation with its documents from the current index, or None."""
        return self.store.load(owner, conversation_id, self.resolve)

    def choices(self, owner: str) -> list[tuple[str, str]]:
        return [(summary.title, summary.id) for summary in self.store.list(owner)]

    def title_of(self, owner: str, conversation_id: str) -> str:
        return next((title for title, id_ in self.choices(owner) if id_ == conversation_id), "")

    def wire(self, app: gr.Blocks, chat: ChatTargets, export: Callable[[Conversation], str], answered) -> None:
        """Events: the list on page load and after each answer (`answered`, the chat's answer event),
        opening, renaming and deleting; `export` writes a conversation's Markdown for the chat's button."""
        def listed(state: Conversation | None, request: gr.Request):
            owner, current = owner_of(request), state.id if state else None
            return (gr.Radio(choices=self.choices(owner), value=current),
                    self.title_of(owner, current) if current else "")

        def open_conversation(conversation_id: str | None, request: gr.Request):
            if not conversation_id:  # the list was cleared (a new conversation): nothing to open
                return (gr.skip(),) * 6
            conversation = self.load(owner_of(request), conversation_id)
            if conversation is None:
                raise gr.Error("This conversation no longer exists; the list is refreshed.")
            last = len(conversation.turns) - 1
            sources = sources_html(conversation.turns[last].answer, last, conversation.turns[last].documents)
            return (chat_messages(conversation), conversation, sources, document_placeholder(),
                    export(conversation), self.title_of(owner_of(request), conversation.id))

        def rename(state: Conversation | None, title: str, request: gr.Request):
            if state is None or not title.strip():
                return refused("Open a saved conversation and type its new title first.", 2)
            if not self.store.rename(owner_of(request), state.id, title):
                return refused("This conversation is not saved yet: ask a question first.", 2)
            return listed(state, request)

        def deleting(state: Conversation | None, request: gr.Request) -> str:
            title = self.title_of(owner_of(request), state.id) if state is not None else ""
            if not title:
                raise gr.Error("Open a saved conversation to delete it.")
            answers = len(state.turns)
            return f"Delete «{title}» and its {answers} answer{'s' * (answers != 1)}? This cannot be undone."

        def delete(state: Conversation | None, request: gr.Request):
            if state is None or not self.store.delete(owner_of(request), state.id):
                raise gr.Error("Open a saved conversation to delete it.")
            return (gr.Radio(choices=self.choices(owner_of(request)), value=None), "", [], None,
                    sources_html(None, 0, {}), document_placeholder(), None)

        def cleared():
            return gr.Radio(value=None), ""

        private = {"api_visibility": "private"}
        app.load(listed, inputs=[chat.conversation], outputs=[self.listing, self.title], **private)
        answered.then(listed, inputs=[chat.conversation], outputs=[self.listing, self.title], **private)
        self.listing.input(open_conversation, inputs=[self.listing], **private,
                           outputs=[chat.chatbot, chat.conversation, chat.sources, chat.document, chat.export,
                                    self.title])
        self.rename.click(rename, inputs=[chat.conversation, self.title], outputs=[self.listing, self.title],
                          **private)
        self.delete.wire(deleting, chat.conversation, delete, **private,
                         outputs=[self.listing, self.title, chat.chatbot, chat.conversation, chat.sources,
                                  chat.document, chat.export])
        gr.on([chat.new.click, chat.chatbot.clear], cleared, outputs=[self.listing, self.title], **private)


def chat_messages(conversation: Conversation) -> list[dict]:
    """The chatbot's messages for a conversation's turns, rendered as when they were answered."""
    messages: list[dict] = []
    for n, turn in enumerate(conversation.turns):
        messages.append({"role": "user", "content": question_html(turn.answer.question)})
        messages.append({"role": "assistant", "content": answer_html(turn.answer, n)})
    return messages
