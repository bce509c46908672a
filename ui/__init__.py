"""The Gradio web app over the `rag` library: `build_app` builds it, `serve` runs it (`rag serve`)."""
from ui.app import build_app, serve

__all__ = ["build_app", "serve"]
