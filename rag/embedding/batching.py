"""Encoder batches of about the same number of tokens, whatever the texts' lengths.

A fixed count of texts per batch suits one length only. Sixteen 300-token chunks give the
two cores enough work per step; sixteen 50-token sentence windows do not, and each step's
fixed costs weigh on a small batch. Padded size is what a batch costs, so the batches are
cut by tokens: texts sorted longest first (little padding), each batch as many texts as fit
`count x longest <= max_tokens`, and none under half the longest (padding at most doubles a
text's cost: a support check's quote, its sentence and their one-word spans go in three
batches). Measured on 2,000 NorQuAD windows (2 cores, bf16): 16 texts a batch 3,100-3,400
tokens/s, 64 texts 3,900, about 4,096 tokens 4,800; chunks (about 210 tokens each) unchanged
within the noise (3,300-4,000).
"""
from __future__ import annotations

from typing import Sequence

from rag.errors import SettingsError

TOKENS_PER_BATCH = 4096


def check_batch_tokens(max_tokens: int) -> int:
    """`max_tokens` if it is at least 1; SettingsError naming the setting otherwise."""
    if max_tokens < 1:
        raise SettingsError(f"setting embedding_batch_tokens={max_tokens} must be 1 or more (tokens per encoder batch)")
    return max_tokens


def token_batches(lengths: Sequence[int], max_tokens: int = TOKENS_PER_BATCH) -> list[list[int]]:
    """Indices into `lengths`, longest first, cut into batches whose padded size (texts x
    longest) stays within `max_tokens` and whose texts are at least half the longest; a text
    longer than `max_tokens` is a batch alone."""
    order = sorted(range(len(lengths)), key=lambda n: lengths[n], reverse=True)
    batches: list[list[int]] = []
    for n in order:
        # Sorted longest first, so a batch's first text is its longest. A text under half of it
        # starts a batch of its own: padded to the longest, it would cost more than twice its size.
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_tokens \
                and 2 * lengths[n] >= lengths[batches[-1][0]]:
            batches[-1].append(n)
        else:
            batches.append([n])
    return batches
