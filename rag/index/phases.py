"""The write phases of an index build or update, reported to a test or diagnostic hook.

A crash test aims its kills with this: a random moment mostly falls in start-up or
embedding, rarely in the few milliseconds in which the index is written and swapped.
Each write step calls `reached(phase)`; a phase can be reached at several steps:

    encode-checkpoint  before a shard of embeddings is written, and before it is renamed
    write-tables       before documents.json, before chunks.jsonl
    write-vectors      before the store's pointer, before its vectors, before the windows
    write-lexical      before BM25, before the perspective table
    write-manifest     before manifest.json
    swap               before the fsync, after the rename to v-..., after the new link is made
    cleanup            after `current` is replaced, before the checkpoint is cleared

With RAG_BUILD_PHASE_HOOK naming a file, each step appends its phase name and a newline
to it. If that file's name plus ".go" exists too, the process then waits (up to
PAUSE_LIMIT seconds) until the .go file holds a byte for every line reported: a test
SIGKILLs it there, or appends a byte to let it go on. Without the variable, nothing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

HOOK = "RAG_BUILD_PHASE_HOOK"
PHASES = ("encode-checkpoint", "write-tables", "write-vectors", "write-lexical", "write-manifest", "swap",
          "cleanup")
# A paused build whose test has gone away finishes on its own instead of waiting forever.
PAUSE_LIMIT = 120.0
POLL = 0.005


def reached(phase: str) -> None:
    """Report `phase` to the hook file, and wait there if asked to (see the module docstring)."""
    hook = os.environ.get(HOOK)
    if not hook:
        return
    if phase not in PHASES:
        raise ValueError(f"unknown build phase {phase!r}")
    with open(hook, "a", encoding="utf-8") as handle:
        handle.write(phase + "\n")
    _wait_for_go(Path(hook), Path(hook + ".go"))


def _wait_for_go(hook: Path, go: Path) -> None:
    deadline = time.monotonic() + PAUSE_LIMIT
    reported = hook.read_text(encoding="utf-8").count("\n")
    while go.exists() and go.stat().st_size < reported and time.monotonic() < deadline:
        time.sleep(POLL)
