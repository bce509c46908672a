"""Retrieval: the chunks that answer a query (hybrid dense + BM25 search), and the passages inside them.

    search.py    hybrid search, fusion, filters, de-duplication
    passages.py  sentence-level evidence inside the retrieved chunks
"""
from rag.retrieval.passages import Passage, scored_passages
from rag.retrieval.search import METHODS, RetrievalConfig, Retriever, SearchResult
from rag.types import Filters, Hit

__all__ = ["Filters", "Hit", "METHODS", "Passage", "RetrievalConfig", "Retriever", "SearchResult", "scored_passages"]
