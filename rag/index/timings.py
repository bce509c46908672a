"""Where an index build spends its time: seconds per step, reported by `rag index build` and `make bench`."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

# In the order a build runs them.
STEPS = ("loading", "chunking", "chunk encoding", "window encoding", "vector store", "bm25", "perspectives",
         "writing")


class Stopwatch:
    """Adds up the wall time spent in each named step."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Counts the time spent in the `with` block towards `name`."""
        if name not in STEPS:
            raise ValueError(f"unknown build step {name!r}")
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        """Seconds per step that ran, in build order."""
        return {name: round(self.seconds[name], 2) for name in STEPS if name in self.seconds}


def describe(timings: dict[str, float]) -> str:
    """"chunking 0.4 s, chunk encoding 12.0 s, ..." (the steps that took at least 0.05 s)."""
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items() if seconds >= 0.05)
