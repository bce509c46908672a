"""Progress of a long encode that tells the truth: how much is done and about how long is left.

Encoding time grows with text length, so the estimate weighs what is done by characters,
not by count: a corpus whose first texts are short would otherwise promise too little.
"""
from __future__ import annotations

import time
from typing import Callable


class EncodeProgress:
    """Reports "<what>: done/total (percent), about N left" as parts of an encode finish."""

    def __init__(self, what: str, lengths: list[int], report: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic):
        self.what, self.report, self.clock = what, report, clock
        self.total, self.total_chars = len(lengths), max(sum(lengths), 1)
        self.done, self.done_chars = 0, 0
        self.started = clock()

    def advance(self, lengths: list[int]) -> None:
        """Count texts of these lengths as encoded and report."""
        self.done += len(lengths)
        self.done_chars += sum(lengths)
        self.report(self.message())

    def message(self) -> str:
        share = self.done_chars / self.total_chars
        line = f"{self.what}: {self.done}/{self.total} ({share:.0%})"
        elapsed = self.clock() - self.started
        if 0 < share < 1 and elapsed > 0:
            line += f", about {_duration(elapsed * (1 - share) / share)} left"
        return line


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
