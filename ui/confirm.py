"""A second step before an action that cannot be undone (deleting a conversation, removing a document).

The first button only asks: it names what will go, and a confirm and a cancel button take its
place. A browser `confirm()` dialog would do the same in one line of JavaScript, but it cannot
name the conversation from server-side state, and a test cannot see it in the page.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable

import gradio as gr


@dataclass
class Confirmation:
    """The asking button, and the hidden question with its confirm and cancel buttons."""

    ask: gr.Button
    question: gr.HTML
    confirm: gr.Button
    cancel: gr.Button

    @classmethod
    def build(cls, ask: gr.Button, confirm_label: str) -> "Confirmation":
        """The question and its buttons for `ask` (placed where the caller put it), hidden until it
        is clicked; call inside the app's Blocks. Their elem_ids extend the ask button's."""
        elem_id = ask.elem_id
        question = gr.HTML(visible=False, elem_id=f"{elem_id}-question", elem_classes=["rag-confirm"])
        with gr.Row():
            confirm = gr.Button(confirm_label, size="sm", variant="stop", visible=False, elem_id=f"{elem_id}-confirm")
            cancel = gr.Button("Cancel", size="sm", visible=False, elem_id=f"{elem_id}-cancel")
        return cls(ask, question, confirm, cancel)

    def wire(self, describe: Callable[[object, gr.Request], str], source, action: Callable, outputs: list,
             **options):
        """`describe(value, request)` of the `source` component's value says what will go (or raises
        gr.Error when nothing can); confirming runs `action` on the same input into `outputs`, with
        the event `options`, if the source still holds what the question named. Returns the action's
        event."""
        parts = [self.ask, self.question, self.confirm, self.cancel]
        named = gr.State(None)  # what the question names: confirming acts on nothing else

        def asked(value, request: gr.Request):
            try:
                return *_shown(True, describe(value, request)), _key(value)
            except gr.Error as error:  # a warning, not an error: that would badge the buttons red
                return refused(error.message, len(parts) + 1)

        def still_named(value, key):
            if key is None or _key(value) != key:
                raise gr.Error("The selection changed after the question was asked; nothing was deleted. "
                               "Click the button again.")

        # Queued, as warnings need; hiding the question needs no queue.
        self.ask.click(asked, inputs=[source], outputs=[*parts, named], api_visibility="private")
        # Choosing something else withdraws the question (it named what was chosen before).
        source.change(lambda: (*_shown(False), None), outputs=[*parts, named], api_visibility="private",
                      queue=False)
        self.cancel.click(lambda: (*_shown(False), None), outputs=[*parts, named], api_visibility="private",
                          queue=False)
        checked = self.confirm.click(still_named, inputs=[source, named], api_visibility="private")
        self.confirm.click(lambda: _shown(False), outputs=parts, api_visibility="private", queue=False)
        return checked.success(action, inputs=[source], outputs=outputs, **options)


def _key(value) -> object:
    """What identifies a chosen item: a conversation by its id, a document id as it is."""
    return getattr(value, "id", value)


def refused(reason: str, outputs: int) -> tuple:
    """For a handler that cannot act: the reason as a warning, and its `outputs` left as they are.
    A raised gr.Error would cover every output with an "Error" badge that blocks clicks on it."""
    gr.Warning(reason)
    return (gr.skip(),) * outputs


def _shown(asking: bool, question: str = "") -> tuple:
    """Updates for (ask, question, confirm, cancel): the question and its buttons, or the ask button."""
    return (gr.Button(visible=not asking), gr.HTML(f"<p>{html.escape(question)}</p>", visible=asking),
            gr.Button(visible=asking), gr.Button(visible=asking))
