"""An encoder that remembers the vectors of the texts it encoded last.

Answer-time encoding repeats itself: the support check compares a group's quotes with each
sentence written from them, in several tests, and perspective detection embeds a question's
short spans ("What did", "the police"), which recur from one question to the next. Each text
is encoded once while it is remembered.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

Encoder = Callable[[list[str]], np.ndarray]


class RememberedEncoder:
    """An encoder that keeps the vectors of the last `size` texts it encoded (thread-safe)."""

    def __init__(self, encode: Encoder, size: int = 4096):
        self.encode, self.size = encode, size
        self.vectors: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()  # the chat checks answers of several users at once

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self.encode([])
        with self.lock:
            known = {text: self.vectors[text] for text in texts if text in self.vectors}
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            known.update(zip(missing, self.encode(missing)))
            with self.lock:
                self.vectors.update((text, known[text]) for text in missing)
                while len(self.vectors) > self.size:
                    del self.vectors[next(iter(self.vectors))]  # the oldest
        return np.array([known[text] for text in texts], dtype=np.float32)
