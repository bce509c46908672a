"""The index: chunks of the corpus with their vectors, BM25 and sentence windows, in a folder.

    build.py     build / update / ensure (chunk, embed, store, publish)
    loaded.py    a loaded version (`Index`) and `load_index`
    status.py    staleness against the corpus
    files.py     the folder layout and its atomic swap
    phases.py    the write phases, reported to a crash-test hook
    chunking.py  sections -> chunks; sentence spans and windows
    tokens.py    cl100k token counts, offline
    lexical.py   BM25
    windows.py   sentence-window vectors
    store/       vector stores (FAISS, Milvus)
"""
from rag.errors import IndexCorrupt, IndexMissing
from rag.index.build import UpdateReport, build_index, ensure_index, update_index
from rag.index.loaded import Index, load_index, stale_reasons, vector_id
from rag.index.status import index_status

__all__ = ["Index", "IndexMissing", "IndexCorrupt", "UpdateReport", "load_index", "update_index",
           "build_index", "ensure_index", "index_status", "vector_id", "stale_reasons"]
