"""One Settings object for the whole pipeline.

Values come, in increasing priority, from the defaults below, an optional `rag.toml`
in the working directory (or the file named by `RAG_CONFIG`), and `RAG_*` environment
variables (the upper-cased field name, e.g. `RAG_CHUNK_TOKENS=300`).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from rag.errors import SettingsError

BUNDLED_MODEL = "bundled:multilingual-e5-small"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag"


@dataclass(frozen=True)
class Settings:
    """Every knob of the pipeline, with the defaults a fresh install runs on."""

    corpus_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    cache_dir: Path = _default_cache_dir()
    # Largest document the app accepts from the browser or its API, in MB (the loader's own
    # limit for any file in the corpus folder is 100 MB).
    upload_max_mb: int = 50
    # The app's saved conversations; "" = a `rag-data` folder next to the index folder
    # (the same parent as `index_dir`).
    data_dir: Path = Path("")
    # Token budget of a chunk's embedding input (heading chain + text), in cl100k tokens.
    chunk_tokens: int = 350
    chunk_overlap_tokens: int = 50
    # Also embed two-sentence windows of each chunk (sharper dense matches).
    sentence_windows: bool = True
    # How windows get their vectors: "encoded" each on its own, or "sentences" (each sentence
    # encoded once, a window adds up its sentences: a faster build, a little less precise
    # citations and abstention; a local mean-pooling model). See rag.index.vectors.
    window_vectors: str = "encoded"
    # "local" (sentence-transformers in this process) or "openai": any OpenAI-compatible
    # /v1/embeddings server (Text Embeddings Inference, vLLM, Ollama, OpenAI); see rag.embedding.hosted.
    embedding_backend: str = "local"
    # local: a sentence-transformers name or folder; openai: the model name the server knows.
    embedding_model: str = BUNDLED_MODEL
    # local: what passages are encoded in, "fp32", "bf16", or "auto" (bf16 on CPUs with AMX-BF16
    # tiles, where it encodes 2.2x faster with the same vectors to cosine 0.9999; fp32 elsewhere).
    # Queries and the support check are fp32 always. See rag.embedding.precision.
    embedding_precision: str = "auto"
    # Texts per request to an embeddings server (embedding_backend = "openai").
    embedding_batch_size: int = 16
    # local: tokens per encoder batch (texts x the longest one's tokens); short texts go in larger
    # batches, which keep the cores busier. See rag.embedding.batching.
    embedding_batch_tokens: int = 4096
    embedding_base_url: str = "https://api.openai.com/v1"
    # The key is only ever read from this environment variable. Not OPENAI_API_KEY by default:
    # an embeddings server on another host must not receive the chat backend's key unasked.
    embedding_api_key_env: str = "RAG_EMBEDDING_API_KEY"
    # Seconds one request to the embeddings server may take, retries included.
    embedding_timeout: float = 60.0
    embedding_max_retries: int = 3
    # "flat" (exact), "ivf" or "hnsw" (approximate), or "auto" (ivf from approximate_threshold vectors).
    vector_index: str = "auto"
    # bench/scale.md: exact search costs ~5 ms p95 per 100k vectors (10 ms at 200k, against
    # 15 ms to embed the question). IVF stays at 1-3.3 ms p95 with recall@10 >= 0.988 up to 1M
    # and builds 4x faster than HNSW, whose recall at 1M was lower (0.926).
    approximate_threshold: int = 200_000
    # Where vectors live: "faiss" (in the index folder) or "milvus" (a Milvus collection per index version).
    vector_store: str = "faiss"
    # Milvus: a path ending in .db runs Milvus Lite in-process ("" = <index_dir>/milvus.db);
    # http://host:19530 is a Milvus server or cluster.
    milvus_uri: str = ""
    milvus_collection: str = "rag_chunks"
    # "" follows vector_index (FLAT, IVF_FLAT or HNSW); or any index type as Milvus names it.
    milvus_index_type: str = ""
    # JSON objects; "" uses rag.index.store.milvus defaults (IVF_FLAT nlist=1024, nprobe=128; HNSW M=32,
    # efConstruction=200, ef=512).
    milvus_index_params: str = ""
    milvus_search_params: str = ""
    milvus_timeout: float = 10.0
    # Answering: backend name from the `rag.backends` registry, and its knobs.
    backend: str = "extractive"
    # Questions the app answers at once (extractive and hosted backends; a serial backend such
    # as llamacpp still answers one at a time, with the queue shown).
    answer_concurrency: int = 4
    # Sources retrieved for an answer (the chat's "number of sources", `rag ask --k`).
    answer_sources: int = 6
    # "evidence": per perspective, the code attaches citations to what is written (default);
    # "free": the model writes the answer and places [n] itself (for strong hosted models).
    answer_mode: str = "evidence"
    # An answer sentence (in another language than its quotes) less similar than this to the
    # quotes it cites is unsupported (calibrated on rag/eval/data/support_cases.jsonl; see
    # rag.answer.support).
    support_similarity: float = 0.855
    # Abstain when the best hit's cosine (chunk or sentence window) is below the first,
    # or below the second when the question names something the corpus never mentions;
    # calibrated on the calibration half of the seeds questions and of the unanswerable ones
    # (`rag.eval.abstention`; the other half gives the README's figures).
    abstain_similarity: float = 0.80
    abstain_similarity_unknown_name: float = 0.8325
    # Same-language pairs score higher than cross-language ones (seeds: answerable Norwegian
    # questions reach >= 0.847 on Norwegian text, English ones >= 0.795), so a question in the
    # passage's own language must clear both thresholds by this much more.
    abstain_same_language_offset: float = 0.04
    # Briefing perspectives named explicitly, "Label=heading or document title; ..." (see
    # rag.briefing.groups); empty: found from the corpus structure.
    briefing_groups: str = ""
    llm_timeout: float = 60.0
    llm_max_retries: int = 3
    llm_max_answer_tokens: int = 512
    llamacpp_model_path: Path = Path("")
    llamacpp_context_window: int = 4096
    # CPU threads llama.cpp computes with; 0: one per CPU this process may use (2 on the 2-core
    # machine of the README's figures). Where a core runs two hardware threads, the number of
    # physical cores is often faster: llama.cpp's threads wait for each other at every step.
    llamacpp_threads: int = 0
    # llama.cpp's weight repacking at load time (its "extra buffer types", laid out for the CPU's
    # matrix instructions): "auto" turns it off on CPUs with AMX, where its AMX buffer segfaults at
    # the first answer (ggml-org/llama.cpp#20824; rag.answer.backends.llamacpp_cpu), and leaves it
    # on elsewhere, where it reads prompts faster; "on" or "off" forces it.
    llamacpp_weight_repacking: str = "auto"
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_api_key_env: str = "OPENAI_API_KEY"
    openai_context_window: int = 16384

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Defaults < rag.toml < RAG_* environment < explicit keyword overrides."""
        values: dict = {}
        values.update(_read_toml())
        values.update(_read_env())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls()._with(values)

    def _with(self, values: dict) -> "Settings":
        known = {f.name: f for f in fields(self)}
        converted = {}
        for name, raw in values.items():
            if name not in known:
                raise SettingsError(f"unknown setting {name!r}; known: {', '.join(known)}")
            converted[name] = _convert(name, raw, type(getattr(self, name)))
        return replace(self, **converted)


def _convert(name: str, raw, kind: type):
    if isinstance(raw, kind):
        return raw
    try:
        if kind is bool:
            return _boolean(str(raw))
        if issubclass(kind, Path):
            return Path(str(raw)).expanduser()
        return kind(raw)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"setting {name}={raw!r} is not a valid {kind.__name__}") from error


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(raw)
    return lowered in ("1", "true", "yes", "on")


def _read_toml() -> dict:
    path = Path(os.environ.get("RAG_CONFIG", "rag.toml"))
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML ({error}); fix or remove the file") from error


def _read_env() -> dict:
    names = {f.name for f in fields(Settings)}
    return {
        name: os.environ[f"RAG_{name.upper()}"]
        for name in names
        if f"RAG_{name.upper()}" in os.environ
    }
