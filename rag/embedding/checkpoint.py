"""Resumable embedding: a long index build or update saves its vectors in shards as it goes.

Embedding is what takes the time when indexing a large corpus (about 5 chunks/s on 2 cores).
An interrupted `rag index build` or `rag index update` (Ctrl-C, a crash, a killed job) keeps
every finished shard in `<index_dir>/.embedding-checkpoint/<model>/`; the next run embeds only
what is missing. Keys are content-derived chunk ids (plus window spans), and the folder is
tied to the model, so a shard is never reused for other text or another model. The folder
is removed once a new index version is published (or by the next update that finds
nothing to do, if a run was killed in between).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from rag.embedding.embedder import Embedder
from rag.embedding.hosted import HostedEmbedder
from rag.embedding.progress import EncodeProgress

FOLDER = ".embedding-checkpoint"
# Texts per shard: about 7 minutes of chunks on 2 cores, so an interruption loses little.
SHARD_TEXTS = 2048
# Texts per progress report within a shard.
STEP_TEXTS = 256


class EmbeddingCheckpoint:
    """Shards of (keys, vectors) under the index folder, for one embedding model."""

    def __init__(self, index_dir: Path, model_id: str, before_step: Callable[[], None] = lambda: None):
        """`before_step` is called before each step of saving a shard, the write and the rename
        (a crash test stops the run there)."""
        model_key = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]
        self.folder = Path(index_dir) / FOLDER / model_key
        self.before_step = before_step

    def encode(self, embedder: Embedder | HostedEmbedder, keys: list[str], texts: list[str],
               progress: Callable[[str], None], what: str = "embedding") -> np.ndarray:
        """Vectors for `texts` (passages), reusing shards saved under their `keys` by an earlier run;
        reports "<what>: done/total (percent), about N left" as it goes."""
        if not keys:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        done = self.encode_with(keys, texts, lambda batch: embedder.encode_passages(batch, progress=False),
                                progress, what)
        return np.array([done[key] for key in keys], dtype=np.float32)

    def encode_with(self, keys: list[str], texts: list[str], encode: Callable[[list[str]], np.ndarray],
                    progress: Callable[[str], None], what: str = "embedding") -> dict[str, np.ndarray]:
        """key -> vector of each text, `encode` turning texts into vectors (the passages' own, or
        other per-text vectors such as token-state sums); texts saved by an earlier run are reused."""
        done = self._load()
        missing = [n for n, key in enumerate(keys) if key not in done]
        if len(missing) < len(keys):
            progress(f"resuming: {len(keys) - len(missing)} of {len(keys)} vectors saved by an interrupted run")
        meter = EncodeProgress(what, [len(texts[n]) for n in missing], progress)
        for start in range(0, len(missing), SHARD_TEXTS):
            batch = missing[start:start + SHARD_TEXTS]
            vectors = np.concatenate([self._encode_step(encode, [texts[n] for n in batch[step:step + STEP_TEXTS]],
                                                        meter) for step in range(0, len(batch), STEP_TEXTS)])
            self._save_shard([keys[n] for n in batch], vectors.astype(np.float32))
            done.update(zip((keys[n] for n in batch), vectors.astype(np.float32)))
        return done

    @staticmethod
    def _encode_step(encode, texts: list[str], meter: EncodeProgress) -> np.ndarray:
        vectors = encode(texts)
        meter.advance([len(text) for text in texts])
        return vectors

    def _load(self) -> dict[str, np.ndarray]:
        done: dict[str, np.ndarray] = {}
        for shard in sorted(self.folder.glob("shard-*.npz")):
            with np.load(shard) as data:
                done.update(zip(data["keys"].tolist(), data["vectors"]))
        return done

    def _save_shard(self, keys: list[str], vectors: np.ndarray) -> None:
        """Write a shard under a temporary name and rename it: a shard is whole or absent."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{len(list(self.folder.glob('shard-*.npz'))):06d}-{os.getpid()}"
        temporary = self.folder / f".{name}.npz"
        self.before_step()
        np.savez(temporary, keys=np.array(keys), vectors=vectors)
        self.before_step()
        os.replace(temporary, self.folder / f"{name}.npz")


def clear_checkpoints(index_dir: Path) -> None:
    """Drop all saved shards (after a version is published, they are in the index)."""
    shutil.rmtree(Path(index_dir) / FOLDER, ignore_errors=True)
