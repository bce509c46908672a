"""BM25 over chunk texts (bm25s) with Snowball stemming and Norwegian + English stop words.

Lexical search finds exact terms that embeddings blur: LAR, førerkort, Politihøgskolen,
"§ 36". The heading chain is indexed with the text so that a Norwegian query word
such as "politiet" also matches chunks under the heading "Politi".
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_NORWEGIAN

from rag.types import Chunk

TOKEN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(STOPWORDS_NORWEGIAN) | frozenset(STOPWORDS_EN)


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def analyse(text: str, language: str = "norwegian") -> list[str]:
    """Lower-cased word tokens without stop words, stemmed."""
    words = [w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return _stemmer(language).stemWords(words)


def lexical_text(chunk: Chunk) -> str:
    """What BM25 indexes for a chunk."""
    return " ".join(chunk.section_path) + "\n" + chunk.text


class LexicalIndex:
    """BM25 scores over a fixed list of chunks (row i is the i-th chunk)."""

    def __init__(self, retriever: bm25s.BM25, language: str):
        self.retriever = retriever
        self.language = language
        self.vocabulary = retriever.vocab_dict

    @classmethod
    def build(cls, chunks: list[Chunk], language: str = "norwegian") -> "LexicalIndex":
        """Index the chunks' texts (with heading chains)."""
        corpus = [analyse(lexical_text(c), language) or ["\u2205"] for c in chunks]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return cls(retriever, language)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (zeros when no term is known)."""
        terms = [t for t in analyse(query, self.language) if t in self.vocabulary]
        if not terms:
            return np.zeros(self.retriever.scores["num_docs"], dtype=np.float32)
        return self.retriever.get_scores(terms).astype(np.float32)

    def top(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the k best chunks with a positive score, best first."""
        scores = self.scores(query)
        k = min(k, len(scores))
        rows = np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, dtype=np.int64)
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        rows = rows[scores[rows] > 0]
        return rows, scores[rows]

    def save(self, folder: Path) -> None:
        """Write the BM25 matrices and vocabulary into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(folder))
        (folder / "rag_lexical.json").write_text(json.dumps({"language": self.language}))

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        """Read an index written by `save`."""
        info = json.loads((folder / "rag_lexical.json").read_text())
        return cls(bm25s.BM25.load(str(folder), mmap=False), info["language"])
