"""The on-disk layout of an index folder, written atomically.

    index/
      current -> v-20261123T101500-123456     symlink, swapped atomically
      v-.../manifest.json                        written last: a version without it is incomplete
      v-.../documents.json  chunks.jsonl  vectors/  lexical/
      .lock                                      one writer at a time

A new version is written in a hidden sibling folder, renamed to `v-...`, and published
by replacing the `current` symlink with `os.replace`, which is atomic on POSIX. A kill
at any moment leaves `current` pointing at a complete version (old or new). Readers
that loaded the previous version keep working: it is deleted only one swap later.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from rag.errors import IndexCorrupt, IndexMissing
from rag.index.phases import reached
from rag.index.store import release_store
from rag.types import Chunk, Document

CURRENT = "current"
MANIFEST = "manifest.json"
VERSIONS_KEPT = 2  # the current version and the one it replaced


def current_version(index_dir: Path) -> Path:
    """The published version folder (IndexMissing if none)."""
    link = Path(index_dir) / CURRENT
    if not link.is_symlink() and not link.exists():
        raise IndexMissing(f"{index_dir}: no index yet; run `rag index build`")
    target = Path(index_dir) / os.readlink(link) if link.is_symlink() else link
    if not (target / MANIFEST).is_file():
        raise IndexCorrupt(f"{index_dir}: the current index version is incomplete; run `rag index build`")
    return target


@contextmanager
def writer_lock(index_dir: Path):
    """Serialise writers; the kernel drops the lock if the holder dies."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(index_dir) / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_version_folder(index_dir: Path) -> Path:
    """An empty hidden folder to write a new version into."""
    folder = Path(index_dir) / f".building-{_stamp()}"
    folder.mkdir(parents=True)
    return folder


def published_name(building: Path) -> str:
    """The name a version being written in `building` is published under."""
    return building.name.replace(".building-", "v-")


def publish(index_dir: Path, building: Path) -> Path:
    """Make a fully written version current, atomically, and prune old ones."""
    replaced = _current_name(Path(index_dir))
    reached("swap")
    _fsync_tree(building)
    version = Path(index_dir) / published_name(building)
    os.rename(building, version)
    reached("swap")
    temporary_link = Path(index_dir) / f".current-{os.getpid()}"
    if temporary_link.is_symlink():
        temporary_link.unlink()
    os.symlink(version.name, temporary_link)
    reached("swap")
    os.replace(temporary_link, Path(index_dir) / CURRENT)
    _fsync_dir(Path(index_dir))
    reached("cleanup")
    _prune(Path(index_dir), {version.name, replaced})
    return version


def _current_name(index_dir: Path) -> str | None:
    link = index_dir / CURRENT
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _prune(index_dir: Path, keep: set[str | None]) -> None:
    """Drop unfinished builds and every version but the kept ones.

    Kept by name, not by age: a build killed between its rename and the swap leaves a
    newer version that was never current, and it must not push out the one just replaced."""
    stale = [p for p in index_dir.glob("v-*") if p.is_dir() and p.name not in keep]
    stale += [p for p in index_dir.glob(".building-*")]
    stale += [p for p in index_dir.glob(".current-*") if p.is_symlink()]
    for path in stale:
        if path.is_symlink():
            path.unlink(missing_ok=True)
        elif release_store(path / "vectors"):  # a Milvus collection goes with its version
            shutil.rmtree(path, ignore_errors=True)


def write_json(path: Path, data) -> None:
    """JSON file with data flushed to disk."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())


def write_documents(folder: Path, documents: list[Document]) -> None:
    """documents.json: every document with text, sections and footnotes."""
    write_json(folder / "documents.json", [d.to_record() for d in documents])


def read_documents(folder: Path) -> list[Document]:
    """Inverse of `write_documents`."""
    data = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    return [Document.from_record(record) for record in data]


def write_chunks(folder: Path, chunks: list[Chunk]) -> None:
    """chunks.jsonl: the chunk table, one JSON object per line, in vector order."""
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")


def read_chunks(folder: Path) -> list[Chunk]:
    """Inverse of `write_chunks`."""
    with open(folder / "chunks.jsonl", encoding="utf-8") as handle:
        return [Chunk.from_json(json.loads(line)) for line in handle if line.strip()]


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 10**9:09d}-{os.getpid()}"


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        else:
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
