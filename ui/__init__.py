"""The Gradio web app over the `rag` library: `ui.app.build_app` builds it, `ui.app.serve` runs it (`rag serve`).

Nothing is imported here, so `ui.render` and the other pure modules load without Gradio.
"""
