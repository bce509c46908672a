"""Milvus vector store: the same protocol over a Milvus collection (pymilvus).

A `milvus_uri` that is a file path ending in `.db` runs Milvus Lite inside this process;
`http://host:19530` (or https) talks to a Milvus server or cluster with the same code.
Each index version gets its own collection (`<milvus_collection>_<version>`), named in
the version's `vectors/store.json`, so publishing a version stays an atomic symlink swap
and pruning an old version drops its collection.

Every row holds the chunk's document id and the hashes of every prefix of its section
path, so `doc_id in [...]` and `array_contains(section_prefixes, h)` filter in the engine.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from rag.errors import StoreError
from rag.index.store.base import STORE_FILE
from rag.types import Filters, Label

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from rag.settings import Settings

KINDS = {"flat": "FLAT", "ivf": "IVF_FLAT", "hnsw": "HNSW"}
# The FAISS store's parameters (see faiss_store.py), so both engines answer alike. Milvus
# trains IVF per sealed segment (up to ~1M of these vectors), hence a fixed nlist.
DEFAULT_BUILD_PARAMS = {"HNSW": {"M": 32, "efConstruction": 200}, "IVF_FLAT": {"nlist": 1024}}
DEFAULT_SEARCH_PARAMS = {"HNSW": {"ef": 512}, "IVF_FLAT": {"nprobe": 128}}
MAX_DOC_ID = 512
MAX_SECTION_DEPTH = 32
BATCH = 2000  # rows per insert/get call: well under gRPC's message size limit


@dataclass(frozen=True)
class MilvusConfig:
    """Where the collections live and how they are indexed."""

    uri: str
    collection_prefix: str = "rag_chunks"
    index_type: str = ""            # "" follows the store kind: FLAT (exact), IVF_FLAT or HNSW
    build_params: str = ""          # JSON; "" uses DEFAULT_BUILD_PARAMS
    search_params: str = ""         # JSON; "" uses DEFAULT_SEARCH_PARAMS
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: "Settings") -> "MilvusConfig":
        """The config the settings describe; an empty URI means Milvus Lite in `<index_dir>/milvus.db`."""
        uri = settings.milvus_uri or str(Path(settings.index_dir).resolve() / "milvus.db")
        return cls(uri, settings.milvus_collection, settings.milvus_index_type, settings.milvus_index_params,
                   settings.milvus_search_params, settings.milvus_timeout)


def _pymilvus():
    """The pymilvus module; StoreError with the install step when it is missing (`make run` leaves it out)."""
    try:
        import pymilvus
    except ImportError as error:
        raise StoreError(
            "vector_store=milvus needs pymilvus, which is not installed: run `make test` (installs everything), "
            "or install the Milvus client alone with `pip install -c requirements.lock -e '.[milvus]'`"
        ) from error
    return pymilvus


def connect(uri: str, timeout: float) -> "MilvusClient":
    """A client for a Milvus Lite file or a server URI, with errors that say what to fix."""
    pymilvus = _pymilvus()
    if re.match(r"^(https?|tcp)://", uri):
        target = uri
    elif uri.endswith(".db") and "://" not in uri:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        target = str(Path(uri).resolve())
    else:
        raise StoreError(f"setting milvus_uri={uri!r} is not usable: give a file path ending in .db "
                               "(Milvus Lite) or http://host:19530 (a Milvus server or cluster)")
    try:
        return pymilvus.MilvusClient(uri=target, timeout=timeout)
    except Exception as error:  # pymilvus raises several types for one cause: nobody answered
        raise StoreError(f"cannot reach Milvus at {uri} within {timeout:g} s ({error}); start the server "
                               "or fix milvus_uri (RAG_MILVUS_URI)") from error


def collection_name(prefix: str, version: str) -> str:
    """A valid collection name (letters, digits, underscores) for one index version."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", f"{prefix}_{version}")
    return name if re.match(r"^[A-Za-z_]", name) else f"c_{name}"


def section_key(prefix: Sequence[str]) -> int:
    """A signed 63-bit hash of a section-path prefix (its parts joined by a unit separator)."""
    digest = hashlib.blake2b("\x1f".join(prefix).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def filter_expression(filters: Filters | None) -> str:
    """The Milvus boolean expression for `filters` ("" when there is nothing to filter)."""
    if not filters:
        return ""
    parts = []
    if filters.doc_ids:
        parts.append("doc_id in [" + ", ".join(_quoted(d) for d in sorted(filters.doc_ids)) + "]")
    if filters.section_prefix:
        parts.append(f"array_contains(section_prefixes, {section_key(filters.section_prefix)})")
    return " and ".join(parts)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MilvusStore:
    """A `VectorStore` over one Milvus collection."""

    filters_in_engine = True

    def __init__(self, config: MilvusConfig, client: "MilvusClient", collection: str, dim: int, kind: str):
        self.config, self.client, self.collection = config, client, collection
        self.dim, self.kind = dim, kind

    @classmethod
    def create(cls, config: MilvusConfig, dim: int, kind: str, version: str) -> "MilvusStore":
        """A new, empty collection for one index version (an existing one of that name is replaced)."""
        if kind not in KINDS:
            raise ValueError(f"unknown Milvus index kind {kind!r}; use one of {', '.join(KINDS)}")
        client = connect(config.uri, config.timeout)
        store = cls(config, client, collection_name(config.collection_prefix, version), dim, kind)
        if client.has_collection(store.collection):
            client.drop_collection(store.collection)
        # Session: this process reads its own writes at once. pymilvus defaults to Bounded, which a
        # server honours (writes show up seconds later; Milvus Lite answers as if Strong), and
        # Strong makes every server search wait for the next time tick (~200 ms).
        client.create_collection(store.collection, schema=store._schema(), index_params=store._index_params(),
                                 consistency_level="Session")
        return store

    @property
    def index_type(self) -> str:
        """The Milvus index type: the configured one, or FLAT/IVF_FLAT/HNSW by kind."""
        return self.config.index_type.upper() or KINDS[self.kind]

    def _schema(self):
        from pymilvus import DataType, MilvusClient  # connect() has checked it is installed

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_DOC_ID)
        schema.add_field("section_prefixes", DataType.ARRAY, element_type=DataType.INT64,
                         max_capacity=MAX_SECTION_DEPTH + 1)
        return schema

    def _index_params(self):
        params = self.client.prepare_index_params()
        build = _json_setting("milvus_index_params", self.config.build_params, DEFAULT_BUILD_PARAMS.get(self.index_type, {}))
        params.add_index(field_name="vector", index_type=self.index_type, metric_type="IP", params=build)
        return params

    def __len__(self) -> int:
        # Strong: counts writes of other processes too (load() checks store.json against this),
        # and makes the server catch up with them before this process's later searches.
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def add(self, ids: np.ndarray, vectors: np.ndarray, labels: Sequence[Label] | None = None) -> None:
        """Upsert vectors with their labels, in batches."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add() call")
        labels = list(labels) if labels is not None else [("", ())] * len(ids)
        for start in range(0, len(ids), BATCH):
            stop = start + BATCH
            rows = [_row(i, v, label) for i, v, label in zip(ids[start:stop], vectors[start:stop], labels[start:stop])]
            self.client.upsert(self.collection, rows)

    def remove(self, ids: np.ndarray) -> None:
        """Delete ids (unknown ones are ignored)."""
        ids = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        for start in range(0, len(ids), BATCH):
            self.client.delete(self.collection, ids=ids[start:start + BATCH])
        # A Milvus 2.3 server returns no timestamp for a delete, so Session reads would not wait
        # for it; a Strong read makes the server apply the deletes before remove() returns.
        len(self)

    def search(self, queries: np.ndarray, k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; the filter runs in Milvus."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        default = DEFAULT_SEARCH_PARAMS.get(self.index_type, {})
        params = {"metric_type": "IP", "params": _json_setting("milvus_search_params", self.config.search_params, default)}
        results = self.client.search(self.collection, data=queries.tolist(), limit=k, filter=filter_expression(filters),
                                     search_params=params, output_fields=[])
        scores, found = np.zeros((len(queries), k), np.float32), -np.ones((len(queries), k), np.int64)
        for row, hits in enumerate(results):
            for column, hit in enumerate(list(hits)[:k]):
                scores[row, column], found[row, column] = hit["distance"], hit["id"]
        return scores, found

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors for ids, in that order (KeyError for an unknown id)."""
        ids = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        found: dict[int, list[float]] = {}
        for start in range(0, len(ids), BATCH):
            for row in self.client.get(self.collection, ids=ids[start:start + BATCH], output_fields=["vector"]):
                found[int(row["id"])] = row["vector"]
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(f"vector id {missing[0]} is not in the Milvus collection {self.collection}")
        return np.array([found[i] for i in ids], dtype=np.float32).reshape(len(ids), self.dim)

    def describe(self) -> dict:
        """Backend, kind, URI and collection, for the manifest."""
        return {"backend": "milvus", "kind": self.kind, "index_type": self.index_type,
                "uri": self.config.uri, "collection": self.collection}

    def save(self, folder: Path) -> None:
        """Flush the collection and write store.json: where it is and how many vectors it holds."""
        self.client.flush(self.collection)
        info = {**self.describe(), "dim": self.dim, "count": len(self), "config": self.config.__dict__}
        (Path(folder) / STORE_FILE).write_text(json.dumps(info))

    @classmethod
    def load(cls, folder: Path) -> "MilvusStore":
        """Reconnect to the collection a saved store.json names; ValueError if it is gone or differs."""
        info = json.loads((Path(folder) / STORE_FILE).read_text())
        config = MilvusConfig(**info["config"])
        store = cls(config, connect(config.uri, config.timeout), info["collection"], int(info["dim"]), info["kind"])
        if not store.client.has_collection(store.collection):
            raise ValueError(f"{folder}: Milvus collection {store.collection} is missing at {config.uri}")
        store.client.load_collection(store.collection)
        if len(store) != info["count"]:
            raise ValueError(f"{folder}: Milvus collection {store.collection} holds {len(store)} vectors, "
                             f"store.json says {info['count']}")
        return store

    @classmethod
    def drop(cls, folder: Path) -> None:
        """Drop the collection a saved store.json names (used when its index version is pruned)."""
        info = json.loads((Path(folder) / STORE_FILE).read_text())
        client = connect(info["config"]["uri"], info["config"]["timeout"])
        if client.has_collection(info["collection"]):
            client.drop_collection(info["collection"])


def _row(vector_id: int, vector: np.ndarray, label: Label) -> dict:
    doc_id, section_path = label
    if len(doc_id.encode("utf-8")) > MAX_DOC_ID or len(section_path) > MAX_SECTION_DEPTH:
        raise ValueError(f"document id {doc_id[:40]!r}... or its section path is too long for the Milvus schema")
    prefixes = [section_key(section_path[:depth]) for depth in range(len(section_path) + 1)]
    return {"id": int(vector_id), "vector": vector.tolist(), "doc_id": doc_id, "section_prefixes": prefixes}


def _json_setting(name: str, raw: str, default: dict) -> dict:
    """A JSON object setting, or `default` when empty."""
    if not raw:
        return dict(default)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise StoreError(f"setting {name}={raw!r} is not valid JSON ({error}); "
                               'write an object such as {"M": 16, "efConstruction": 100}') from error
    if not isinstance(value, dict):
        raise StoreError(f"setting {name}={raw!r} must be a JSON object")
    return value
