"""Credentials masked out of text a server or an exception hands back, before a user can see it.

An OpenAI-compatible server (or a proxy or debug server in front of one) may echo the
request, headers included, in its error body; that text becomes a notice in the chat, the
`/ask` result and the exported conversation. `redact` masks the configured secrets, whatever
their shape, and anything shaped like a credential, whoever it belongs to.
"""
from __future__ import annotations

import re
from typing import Iterable

MASK = "[redacted]"
# The token after "Bearer", in the characters RFC 6750 allows ("[" is not one, so a mask stays whole).
BEARER_TOKEN = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)
# OpenAI-style keys (sk-..., sk-proj-...), also without "Bearer" before them.
SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
# Shorter configured values are placeholders ("no", "-"), not secrets; masking them would
# replace ordinary letters all through the message.
MIN_SECRET_CHARS = 4


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with each configured secret, each `Bearer <token>` and each `sk-...` key masked."""
    # Longest first: a secret that contains another must go whole, not leave its remainder behind.
    for secret in sorted((s for s in secrets if s and len(s) >= MIN_SECRET_CHARS), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = BEARER_TOKEN.sub(lambda match: match.group(1) + MASK, text)
    return SK_KEY.sub(MASK, text)
