"""The Gradio web app over the `rag` library: `build_app` builds it, `serve` runs it (`rag serve`)."""
from __future__ import annotations

__all__ = ["build_app", "serve"]


def __getattr__(name: str):
    # Imported lazily: `import ui` must not pay for importing gradio (and torch) up front.
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
