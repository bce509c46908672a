"""rag: source-grounded answers from policy documents, every claim cited to the exact passage.

The small public API (the rest is reachable by module; see the README's "What is here"):

    from rag import Answerer, Settings

    answerer = Answerer.from_settings(Settings.load())      # loads the index, or builds it from seeds/
    answer = answerer.ask("What did the police say about lack of resources?")
    print(answer.text)
    for citation in answer.citations:
        print(citation.n, " > ".join(citation.section_path), citation.quote)

Names are imported on first use, so `import rag.settings` stays light (no torch, no FAISS).
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.answer import Answerer
    from rag.index import Index
    from rag.settings import Settings
    from rag.types import Answer, Citation

_PUBLIC = {
    "Answer": "rag.types",
    "Answerer": "rag.answer",
    "Citation": "rag.types",
    "Index": "rag.index",
    "Settings": "rag.settings",
}
__all__ = ["Answer", "Answerer", "Citation", "Index", "Settings"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
