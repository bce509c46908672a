"""Embeddings from any OpenAI-compatible `/v1/embeddings` server: Text Embeddings Inference,
vLLM, Ollama, OpenAI.

Set `embedding_backend = "openai"`, `embedding_base_url` (e.g. `http://127.0.0.1:8080/v1`),
`embedding_model` (the name the server knows) and, if the server needs one, put the key in
the environment variable named by `embedding_api_key_env`. Texts go in batches of
`embedding_batch_size`; each request has `embedding_timeout` seconds, retries included, and
429/5xx replies and dropped connections are retried with backoff (`embedding_max_retries`).

The server embeds the text it receives as is, so e5 models get their "query: "/"passage: "
prompt in the text, as the local embedder gives it. Vectors are normalised here: not every
server does. Every error names the endpoint (without credentials) and what to check; server
text quoted in it is redacted first, so the key never reaches a message or a log.
"""
from __future__ import annotations

import json
import os
import time

import httpx
import numpy as np

from rag.embedding.embedder import E5_PROMPTS
from rag.errors import EmbeddingError, SettingsError
from rag.errors.http_retry import (
    CONNECT_TIMEOUT,
    ERROR_DETAIL_CHARS,
    RETRYABLE_STATUS,
    retry_after,
    retry_delay,
    server_message,
)
from rag.errors.redact import redact
from rag.settings import BUNDLED_MODEL, Settings

# Most models put two special tokens around the text ([CLS] ... [SEP], <s> ... </s>).
SPECIAL_TOKENS = 2


class _Transient(EmbeddingError):
    """A failure another attempt may not have: 429/5xx, refused or dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class HostedEmbedder:
    """Encodes queries and passages into L2-normalised float32 vectors on an embeddings server."""

    def __init__(self, settings: Settings, api_key: str | None = None):
        if settings.embedding_model == BUNDLED_MODEL:
            raise SettingsError(
                "embedding_backend = openai needs embedding_model set to the name the server knows, e.g. "
                "intfloat/multilingual-e5-small (Text Embeddings Inference, vLLM), nomic-embed-text (Ollama) "
                "or text-embedding-3-small (OpenAI)")
        self.settings = settings
        self.model_name = settings.embedding_model
        self.batch_size = max(1, settings.embedding_batch_size)
        self.timeout = settings.embedding_timeout
        self.max_retries = max(0, settings.embedding_max_retries)
        self.key_env = settings.embedding_api_key_env
        url = embeddings_url(settings.embedding_base_url)
        self.url = str(url.copy_with(username=None, password=None))  # what messages show
        self._request_url = str(url)
        self.secrets = tuple(s for s in (api_key, url.password) if s)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._dim: int | None = None

    @property
    def model_id(self) -> str:
        """Identifies the model in the index manifest and the checkpoint folder."""
        return f"openai:{self.model_name}"

    @property
    def dim(self) -> int:
        """Embedding dimension, as the server's vectors have it (one short request if none was made yet)."""
        if self._dim is None:
            self.encode_queries(["dimension"])
        return self._dim

    @property
    def max_seq_length(self) -> int | None:
        """Unknown: the server's own limit applies (a too-long input is an error naming chunk_tokens)."""
        return None

    def count_tokens(self, text: str, kind: str = "passage") -> int:
        """An upper bound on the server's tokens for `text`: its UTF-8 bytes plus special tokens.

        The server's tokenizer is not available here. Every token of the tokenizers these models
        use (byte-level BPE, WordPiece, SentencePiece with byte fallback) covers at least one
        byte, so this never undercounts. Chunk budgets do not depend on it: they are in cl100k
        tokens (rag.index.chunking), which fit the 512-token limit of the usual models."""
        return len((self._prefix(kind) + text).encode("utf-8")) + SPECIAL_TOKENS

    def encode_passages(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        """Vectors for passages (chunk embedding texts); `progress` is accepted for the local interface."""
        return self._encode(texts, "passage")

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for search queries."""
        return self._encode(texts, "query")

    def _prefix(self, kind: str) -> str:
        return E5_PROMPTS[kind] if "e5" in self.model_name.lower() else ""

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        prefix = self._prefix(kind)
        inputs = [prefix + text for text in texts]
        if not inputs:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        with httpx.Client(headers=self.headers) as client:  # one connection for all batches
            parts = [self._embed_batch(client, inputs[start:start + self.batch_size])
                     for start in range(0, len(inputs), self.batch_size)]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def _embed_batch(self, client: httpx.Client, texts: list[str]) -> np.ndarray:
        """Unit vectors for one batch: one request, retried until it succeeds or the deadline comes."""
        deadline = time.monotonic() + self.timeout
        for attempt in range(self.max_retries + 1):
            try:
                return self._keep_dim(_unit_rows(self._attempt(client, texts, deadline), self.url))
            except _Transient as error:
                time.sleep(self._retry_delay(error, attempt, deadline))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, client: httpx.Client, texts: list[str], deadline: float) -> np.ndarray:
        """One request: its vectors in input order, or EmbeddingError/_Transient."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        # httpx times each connect and read, not the whole request: both are cut to what is left.
        timeout = httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT, remaining))
        try:
            response = client.post(self._request_url, json={"model": self.model_name, "input": texts},
                                   timeout=timeout)
        except httpx.TimeoutException as error:
            if time.monotonic() >= deadline - 0.05:
                raise self._timed_out() from error
            raise _Transient(f"{self.url}: connection timed out; check embedding_base_url") from error
        except httpx.TransportError as error:
            reason = self._detail(error) or type(error).__name__
            raise _Transient(f"{self.url}: connection failed ({reason}); check embedding_base_url "
                             "and that the server is running") from error
        self._check_status(response)
        return self._vectors(response, len(texts))

    def _timed_out(self) -> EmbeddingError:
        return EmbeddingError(f"{self.url}: no reply within embedding_timeout ({self.timeout:g} s); "
                              "raise it, or lower embedding_batch_size")

    def _check_status(self, response: httpx.Response) -> None:
        """EmbeddingError (or _Transient, for retryable statuses) unless the status is 2xx."""
        if response.is_success:
            return
        status = response.status_code
        message = f"{self.url} answered HTTP {status}: {self._error_detail(response)}"
        if status in (401, 403):
            message += f" (check the API key in the environment variable {self.key_env})"
        elif status == 404:
            message += " (check embedding_base_url and embedding_model)"
        elif status == 413:
            message += " (inputs too long for the server: lower chunk_tokens, or let the server truncate)"
        if status in RETRYABLE_STATUS:
            raise _Transient(message, retry_after(response))
        raise EmbeddingError(message)

    def _vectors(self, response: httpx.Response, count: int) -> np.ndarray:
        """The `data[].embedding` of a reply, ordered by `index`; EmbeddingError when it is not that shape."""
        try:
            body = json.loads(response.text)
        except (ValueError, RecursionError) as error:
            raise EmbeddingError(f"{self.url} sent malformed JSON: {self._detail(response.text)!r}") from error
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise EmbeddingError(f"{self.url} sent no 'data' list of embeddings: {self._detail(response.text)!r}")
        if len(data) != count:
            raise EmbeddingError(f"{self.url} sent {len(data)} embeddings for {count} inputs")
        if all(isinstance(item.get("index"), int) for item in data):  # the API's order is by "index"
            data = sorted(data, key=lambda item: item["index"])
        rows = [item.get("embedding") for item in data]
        if not all(isinstance(row, list) and row for row in rows):
            raise EmbeddingError(f"{self.url} sent an embedding that is not a list of numbers "
                                 "(a base64 encoding_format is not supported)")
        if len({len(row) for row in rows}) != 1:
            raise EmbeddingError(f"{self.url} sent vectors of different lengths in one reply")
        try:
            vectors = np.array(rows, dtype=np.float32)
        except (TypeError, ValueError):
            vectors = None
        if vectors is None or vectors.ndim != 2:
            raise EmbeddingError(f"{self.url} sent an embedding with values that are not numbers")
        return vectors

    def _keep_dim(self, vectors: np.ndarray) -> np.ndarray:
        """The vectors, once their dimension is known to match the server's earlier replies."""
        dim = vectors.shape[1]
        if self._dim is not None and dim != self._dim:
            raise EmbeddingError(f"{self.url} sent {dim}-dimensional vectors after {self._dim}-dimensional "
                                 "ones: did the model behind it change?")
        self._dim = dim
        return vectors

    def _retry_delay(self, error: _Transient, attempt: int, deadline: float) -> float:
        """Seconds to wait before the next attempt; EmbeddingError when there is none to make."""
        return retry_delay(error, error.retry_after, attempt, self.max_retries, deadline, EmbeddingError,
                           "embedding_timeout")

    def _detail(self, text: object) -> str:
        """Server or exception text fit for a message: redacted first, so no cut key survives."""
        return redact(str(text), self.secrets)[:ERROR_DETAIL_CHARS]

    def _error_detail(self, response: httpx.Response) -> str:
        return self._detail(server_message(response))


def create_hosted(settings: Settings) -> HostedEmbedder:
    """A hosted embedder, its key read from the environment variable the settings name."""
    return HostedEmbedder(settings, api_key=os.environ.get(settings.embedding_api_key_env) or None)


def embeddings_url(base_url: str) -> httpx.URL:
    """`<base_url>/embeddings`, keeping a query string such as Azure's api-version."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as error:
        raise SettingsError(f"embedding_base_url={base_url!r} is not a URL ({error})") from error
    if url.scheme not in ("http", "https"):
        raise SettingsError(f"embedding_base_url={base_url!r} must start with http:// or https://")
    return url.copy_with(path=url.path.rstrip("/") + "/embeddings")


def _unit_rows(vectors: np.ndarray, url: str) -> np.ndarray:
    """Each row scaled to length 1 (cosine similarity is then a dot product)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise EmbeddingError(f"{url} sent an embedding of length zero or with non-finite values")
    return vectors / norms
