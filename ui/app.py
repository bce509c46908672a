"""The Gradio app: a chat with streamed, cited answers, their sources, the cited documents,
settings, the corpus, a Markdown export and an `ask` API for other tools.

The app is built from the library (`rag.answer.answerer`); the library never imports `ui`, only
the CLI's `serve` command does (through `ui.serving`, which launches this app).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

import gradio as gr

from rag.answer import Answerer, Finished, SourcesFound, TextDelta
from rag.answer.backends.registry import backend_names
from rag.errors import BackendError
from rag.language import question_problem
from rag.settings import Settings
from ui.assets import DOCUMENT_JS, SOURCES_JS
from ui.briefing_tab import briefing_tab
from ui.confirm import refused
from ui.conversation import Conversation
from ui.corpus_tab import corpus_api, corpus_tab, document_choices, wire_corpus
from ui.engine import AskOptions, Engine
from ui.history import data_folder, open_history
from ui.history_panel import ChatTargets, HistoryPanel, owner_of
from ui.markdown_export import conversation_markdown
from ui.remembered import browser_secret, remember_settings
from ui.render import (
    SourceRef,
    answer_html,
    document_placeholder,
    question_html,
    queued_html,
    source_document_html,
    sources_html,
    streaming_html,
)
from ui.scratch import ScratchFolder, file_slug
from ui.turns import Queued

EXAMPLES = [
    "What did the police say about lack of resources?",
    "What do the health personnel say about stigma?",
    "Hva mener brukerorganisasjonene om politiet?",
]
LANGUAGES = [("Auto (as asked)", "auto"), ("English", "en"), ("Norsk", "no")]
MODES = [("Evidence first", "evidence"), ("Free", "free")]
# Chat, API and briefings share one concurrency group of `answer_concurrency` workers; a serial
# backend (a local model) queues behind its own turn queue in the engine.
ANSWER_QUEUE = "answer"


# --- building the app ----------------------------------------------------------------------


@dataclass
class _ChatPanels:
    """The chat tab's components that event handlers read and write."""

    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    new: gr.Button
    export: gr.DownloadButton
    backend: gr.Dropdown
    k: gr.Slider
    doc_filter: gr.Dropdown
    language: gr.Radio
    mode: gr.Radio
    sources: gr.HTML
    document: gr.HTML


def build_app(settings: Settings, answerer: Answerer | None = None) -> gr.Blocks:
    """The app over `settings`' index (built first if missing), answering with `answerer` by default.

    Serve it with `serve`, which also applies the app's theme and CSS.
    """
    engine = Engine(settings, answerer or Answerer.from_settings(settings))
    history = _history_panel(settings, engine)
    exports = ScratchFolder("rag-export-")  # one folder per conversation, gone with the server
    # analytics off: the app runs offline and must not phone home on start.
    # delete_cache: Gradio's copies of exported files older than a day go, checked hourly.
    with gr.Blocks(title="rag: ask the policy documents", analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        # Starts empty: the first question creates the session's conversation (and its id).
        # Closing the tab deletes the state, and with it the session's export file.
        conversation = gr.State(None, delete_callback=lambda state: _forget_export(state, exports))
        history.build()
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(engine)
            with gr.Tab("Corpus", id="corpus") as tab:
                corpus = corpus_tab(engine, tab)
            briefing_tab(engine, ANSWER_QUEUE, _answer_workers(settings))
        answered = _wire_chat(engine, chat, conversation, exports, history)
        _wire_sources(chat, conversation)
        wire_corpus(engine, corpus, chat.doc_filter)
        _wire_history(app, engine, history, chat, conversation, exports, answered)
        _wire_api(engine, history)
        corpus_api(engine)
    return app


def _answer_workers(settings: Settings) -> int:
    return max(1, settings.answer_concurrency)


def _chat_tab(engine: Engine) -> _ChatPanels:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            # No LaTeX: without it, "$$...$$" in a document or an answer would be typeset even with
            # render_markdown off. No "share" button: it posts to Hugging Face.
            chatbot = gr.Chatbot(label="Conversation", elem_id="rag-chat", height=520, render_markdown=False,
                                 latex_delimiters=[], sanitize_html=True, allow_tags=False, feedback_options=None,
                                 buttons=["copy", "copy_all"])
            with gr.Row():
                question = gr.Textbox(label="Question", placeholder="Ask about the documents, in English or Norwegian",
                                      elem_id="rag-question", scale=5, autofocus=True)
                send = gr.Button("Ask", variant="primary", elem_id="rag-send", scale=1)
            gr.Examples(EXAMPLES, inputs=question, label="Example questions")
            with gr.Row():
                new = gr.Button("New conversation", elem_id="rag-new", size="sm")
                export = gr.DownloadButton("Export conversation (Markdown)", elem_id="rag-export", size="sm")
            backend, k, doc_filter, language, mode = _settings_panel(engine)
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(sources_html(None, 0, {}), elem_id="rag-sources", js_on_load=SOURCES_JS)
    gr.Markdown("### Document")
    document = gr.HTML(document_placeholder(), elem_id="rag-document", js_on_load=DOCUMENT_JS)
    return _ChatPanels(chatbot, question, send, new, export, backend, k, doc_filter, language, mode, sources,
                       document)


def _settings_panel(engine: Engine) -> tuple[gr.Dropdown, gr.Slider, gr.Dropdown, gr.Radio, gr.Radio]:
    with gr.Accordion("Answer settings", open=False, elem_id="rag-settings"):
        names = sorted(set(backend_names()) | {engine.default_backend})
        backend = gr.Dropdown(names, value=engine.default_backend, label="Backend", elem_id="rag-backend",
                              info="A failing backend falls back to the extractive one, with a notice.")
        k = gr.Slider(1, 12, value=engine.settings.answer_sources, step=1, label="Number of sources", elem_id="rag-k")
        doc_filter = gr.Dropdown(document_choices(engine), value=[], multiselect=True, elem_id="rag-doc-filter",
                                 label="Only these documents", info="Empty: all documents.")
        language = gr.Radio(LANGUAGES, value="auto", label="Answer language", elem_id="rag-language")
        mode = gr.Radio(MODES, value=engine.settings.answer_mode, label="Answer mode", elem_id="rag-mode",
                        info="Evidence first: the code attaches every citation. Free: the model places them "
                             "(for strong hosted models). Every sentence is checked either way.")
    return backend, k, doc_filter, language, mode


# --- events --------------------------------------------------------------------------------


def _wire_chat(engine: Engine, panels: _ChatPanels, conversation: gr.State, exports: ScratchFolder,
               history: HistoryPanel) -> gr.events.Dependency:
    """Wire the chat; returns its answer event (the conversation list refreshes after it)."""
    def respond(question, messages, state, backend, k, doc_ids, language, mode, request: gr.Request):
        options = AskOptions(backend, int(k), tuple(doc_ids or ()), None if language == "auto" else language, mode)
        reason = _refusal(engine, question, options)
        if reason:
            yield refused(reason, 5)
            return
        question = question.strip()
        state = state or Conversation()
        messages = [*messages, {"role": "user", "content": question_html(question)},
                    {"role": "assistant", "content": streaming_html("")}]
        yield "", messages, state, gr.skip(), gr.skip()
        text = ""
        for event in engine.stream(state, question, options):
            text += event.text if isinstance(event, TextDelta) else ""
            if isinstance(event, Finished):
                history.record(owner_of(request), state)
            yield _chat_update(event, text, messages, state, exports)

    def reset():
        return [], None, sources_html(None, 0, {}), document_placeholder(), None

    inputs = [panels.question, panels.chatbot, conversation, panels.backend, panels.k, panels.doc_filter,
              panels.language, panels.mode]
    outputs = [panels.question, panels.chatbot, conversation, panels.sources, panels.export]
    answered = gr.on([panels.question.submit, panels.send.click], respond, inputs=inputs, outputs=outputs,
                     api_visibility="private", concurrency_id=ANSWER_QUEUE,
                     concurrency_limit=_answer_workers(engine.settings))
    # The Chatbot's own clear button must forget the conversation too, or follow-ups would
    # lean on turns the user no longer sees. The question box is left alone: a question typed
    # while the reset travels is the new conversation's first, not wiped by the reply. Unqueued,
    # the reset is not held behind answers being written for other users.
    gr.on([panels.new.click, panels.chatbot.clear], reset, api_visibility="private", queue=False,
          outputs=[panels.chatbot, conversation, panels.sources, panels.document, panels.export])
    return answered


def _chat_update(event, text: str, messages: list[dict], state: Conversation, exports: ScratchFolder) -> tuple:
    """The (question, chatbot, state, sources, export) update for one answer event."""
    if isinstance(event, SourcesFound):
        return gr.skip(), gr.skip(), gr.skip(), _searching_html(event), gr.skip()
    if isinstance(event, Queued):
        messages[-1] = {"role": "assistant", "content": queued_html(event.ahead)}
        return gr.skip(), messages, gr.skip(), gr.skip(), gr.skip()
    if isinstance(event, TextDelta):
        messages[-1] = {"role": "assistant", "content": streaming_html(text)}
        return gr.skip(), messages, gr.skip(), gr.skip(), gr.skip()
    turn = len(state.turns) - 1  # Finished: the engine has just added the answer as the last turn
    messages[-1] = {"role": "assistant", "content": answer_html(event.answer, turn)}
    sources = sources_html(event.answer, turn, state.turns[turn].documents)
    return gr.skip(), messages, state, sources, _export(state, exports)


def _refusal(engine: Engine, question: str, options: AskOptions) -> str | None:
    """What to fix before the question can be answered (it, or the chosen backend), or None."""
    problem = question_problem(question)
    if problem:
        return f"{problem[0].upper()}{problem[1:]}."
    try:
        engine.answerer(options.backend)
    except (ValueError, BackendError) as error:
        return f"The {options.backend} backend cannot be used: {error}. Choose another in Answer settings."
    return None


def _searching_html(event: SourcesFound) -> str:
    return f'<div class="rag-empty">Found {len(event.hits)} passages; composing the answer …</div>'


def _export(conversation: Conversation, exports: ScratchFolder) -> str:
    """Write the conversation as Markdown (one file per conversation, rewritten each turn)."""
    first = conversation.turns[0].answer.question if conversation.turns else ""
    path = exports.path / conversation.id / f"conversation-{file_slug(first, 'export')}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conversation_markdown(conversation.answers, time.strftime("%Y-%m-%d %H:%M")), encoding="utf-8")
    return str(path)


def _forget_export(conversation: Conversation | None, exports: ScratchFolder) -> None:
    if conversation is not None:
        shutil.rmtree(exports.path / conversation.id, ignore_errors=True)


def _wire_sources(panels: _ChatPanels, conversation: gr.State) -> None:
    def open_source(state: Conversation | None, event: gr.EventData):
        ref = SourceRef.parse(str(event._data.get("href", "")) if isinstance(event._data, dict) else "")
        if state is None or ref is None or ref.turn >= len(state.turns):
            return gr.skip(), gr.skip()
        turn = state.turns[ref.turn]
        document = source_document_html(turn.answer, turn.documents, ref)
        if document is None:
            return gr.skip(), gr.skip()
        return sources_html(turn.answer, ref.turn, turn.documents, active=ref), document

    panels.sources.open_source(open_source, inputs=[conversation], outputs=[panels.sources, panels.document],
                               api_visibility="private")


def _wire_api(engine: Engine, history: HistoryPanel) -> None:
    def ask(question: str, conversation_id: str = "", request: gr.Request = None) -> dict:
        """Answer a question over the documents, as a follow-up when `conversation_id` names an earlier
        conversation; returns the `rag ask --json` object plus "conversation_id"."""
        owner = owner_of(request)
        conversation = history.load(owner, conversation_id) if conversation_id else Conversation()
        if conversation is None:
            raise gr.Error(f"Unknown conversation_id {conversation_id!r}: none of your saved conversations has "
                           "it (it may have been deleted). Leave it empty to start anew.")
        try:
            answer = engine.ask(conversation, question)
        except ValueError as error:
            raise gr.Error(str(error))
        history.record(owner, conversation)
        return {**answer.to_json(), "conversation_id": conversation.id}

    gr.api(ask, api_name="ask", concurrency_id=ANSWER_QUEUE, concurrency_limit=_answer_workers(engine.settings))


# --- saved conversations and remembered settings (ui.history_panel, ui.remembered) ------------


def _history_panel(settings: Settings, engine: Engine) -> HistoryPanel:
    store, notice = open_history(settings)
    return HistoryPanel(store, notice, resolve=lambda doc_id: engine.index.documents.get(doc_id))


def _wire_history(app: gr.Blocks, engine: Engine, history: HistoryPanel, chat: _ChatPanels, conversation: gr.State,
                  exports: ScratchFolder, answered: gr.events.Dependency) -> None:
    targets = ChatTargets(chat.chatbot, conversation, chat.sources, chat.document, chat.export, chat.new)
    history.wire(app, targets, lambda state: _export(state, exports), answered)
    secret = browser_secret(None if history.notice else data_folder(engine.settings))
    remember_settings(app, secret, [chat.backend, chat.k, chat.doc_filter, chat.language, chat.mode],
                      lambda: {document.id for document in engine.documents()})
