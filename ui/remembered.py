"""The answer settings (backend, number of sources, documents, language, answer mode), remembered
per browser in its local storage and restored when the page loads.

Gradio encrypts a BrowserState with a secret; the secret is kept in the data folder so that
remembered settings also outlive a restart of the app (a fresh random one otherwise).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

import gradio as gr

STORAGE_KEY = "rag-answer-settings"
SECRET_FILE = "browser-state.secret"
FIELDS = ("backend", "k", "doc_ids", "language", "mode")


def browser_secret(folder: Path | None) -> str:
    """The BrowserState secret stored in `folder` (created, readable by the owner only, on first use)."""
    if folder is None:
        return secrets.token_hex(16)
    path = folder / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    except OSError:  # unreadable: settings are then remembered until the app restarts
        return secrets.token_hex(16)
    secret = secrets.token_hex(16)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secret)
    except OSError:
        pass
    return secret


def remember_settings(app: gr.Blocks, secret: str, components: list[gr.components.Component],
                      document_ids: Callable[[], set[str]]) -> None:
    """Store the five answer settings `components` (in FIELDS order) on every change; restore them on
    load, each only if still valid (a backend or document may have gone since)."""
    stored = gr.BrowserState({}, storage_key=STORAGE_KEY, secret=secret)
    backend, k, doc_filter, language, mode = components
    allowed = {"backend": _values(backend), "language": _values(language), "mode": _values(mode)}

    def restore(saved: dict | None):
        saved = saved if isinstance(saved, dict) else {}
        valid = {name: value for name, value in saved.items()
                 if name in allowed and value in allowed[name]}
        sources = saved.get("k")
        doc_ids = saved.get("doc_ids")
        return (valid.get("backend", gr.skip()), valid.get("language", gr.skip()), valid.get("mode", gr.skip()),
                sources if isinstance(sources, int) and k.minimum <= sources <= k.maximum else gr.skip(),
                [d for d in doc_ids if d in document_ids()] if isinstance(doc_ids, list) else gr.skip())

    def store(backend_name, sources, doc_ids, language_code, mode_name):
        return dict(zip(FIELDS, (backend_name, int(sources), list(doc_ids or []), language_code, mode_name)))

    app.load(restore, inputs=[stored], outputs=[backend, language, mode, k, doc_filter], api_visibility="private")
    gr.on([component.change for component in components], store, inputs=components, outputs=[stored],
          api_visibility="private")


def _values(component) -> set:
    """The values a Dropdown's or Radio's choices allow."""
    return {value for _, value in component.choices}
