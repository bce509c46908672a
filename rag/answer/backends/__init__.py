"""Answer backends: the protocol (`base`), the registry by name (`registry`), and the built-in LLM backends.

Every backend, the built-in ones included, registers through the `rag.backends` entry-point group.
"""
