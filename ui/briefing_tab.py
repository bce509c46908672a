"""The Briefing tab: a cited briefing note on a topic, by perspective, previewed and downloadable."""
from __future__ import annotations

import logging

import gradio as gr

from rag.answer.backends.registry import backend_names
from rag.briefing import Briefing, BriefingWriter, to_markdown, write
from rag.briefing.export import map_text
from rag.errors import BackendError
from ui.engine import Engine
from ui.render import markdown_literal
from ui.scratch import ScratchFolder, file_slug

log = logging.getLogger(__name__)

FORMAT_CHOICES = [("Markdown (.md)", "md"), ("Word (.docx)", "docx")]
EXAMPLE_TOPICS = ["time pressure and lack of resources", "measures against stigma", "tillit til politiet"]
PLACEHOLDER = "*Write a topic and press **Write briefing**: each group's view, with quotes and sources.*"


def briefing_tab(engine: Engine, concurrency_id: str, concurrency_limit: int) -> None:
    """Add the Briefing tab (inside the app's `gr.Tabs`); briefings share the answers' `concurrency_id`
    (Gradio applies the lowest limit in a group, so every member passes the same one)."""
    exports = ScratchFolder("rag-briefing-")  # one folder per briefing, see write_briefing
    with gr.Tab("Briefing", id="briefing"):
        with gr.Row():
            topic = gr.Textbox(label="Topic", placeholder="What should the briefing cover?", scale=4,
                               elem_id="rag-brief-topic")
            file_format = gr.Radio(FORMAT_CHOICES, value="md", label="Download as", elem_id="rag-brief-format")
            backend = gr.Dropdown(sorted(set(backend_names()) | {engine.default_backend}),
                                  value=engine.default_backend, label="Backend", elem_id="rag-brief-backend")
        gr.Examples(EXAMPLE_TOPICS, inputs=topic, label="Example topics")
        run = gr.Button("Write briefing", variant="primary", elem_id="rag-brief-run")
        # No LaTeX: "$$" in a document would be typeset after the Markdown escapes are gone.
        preview = gr.Markdown(PLACEHOLDER, latex_delimiters=[], elem_id="rag-brief-preview")
        download = gr.File(label="Briefing file", interactive=False, elem_id="rag-brief-file")

    def respond(topic_text: str, chosen_format: str, chosen_backend: str):
        return write_briefing(engine, topic_text, chosen_format, chosen_backend, exports)

    gr.on([topic.submit, run.click], respond, inputs=[topic, file_format, backend], outputs=[preview, download],
          api_visibility="private", concurrency_id=concurrency_id, concurrency_limit=concurrency_limit)


def write_briefing(engine: Engine, topic: str, file_format: str, backend: str | None,
                   exports: ScratchFolder) -> tuple[str, str | None]:
    """The note's Markdown preview (document text escaped) and the path of its file; gr.Error says
    what to fix, and a file that cannot be written is a gr.Warning beside the preview."""
    topic = (topic or "").strip()
    if not topic:
        raise gr.Error("Type a topic first, e.g. \"lack of resources\".")
    try:
        note = BriefingWriter(engine.answerer(backend)).write(topic)
    except (ValueError, BackendError) as error:
        raise gr.Error(f"No briefing: {error}")
    # One folder per briefing, so that two people's downloads never overwrite each other.
    folder = exports.new_folder()
    try:
        path = str(write(note, folder / f"briefing-{file_slug(topic, 'note')}.{file_format}", file_format))
    except Exception as error:  # the note itself is fine: show it, and say why there is no file
        log.exception("briefing export to %s failed", file_format)
        gr.Warning(f"The briefing could not be saved as .{file_format} ({error.__class__.__name__}: {error}); "
                   "the preview is complete, or try the other format.")
        path = None
    return preview_markdown(note), path


def preview_markdown(note: Briefing) -> str:
    """The note's Markdown with every text from documents, the model or the user made literal.

    The note's own headings, lists and quotes render; a `<script>`, a `[link](javascript:...)`
    or `**bold**` in a quote shows as typed. The downloaded file keeps the text verbatim.
    """
    return to_markdown(map_text(note, markdown_literal))
