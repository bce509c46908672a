"""When to try an HTTP request to a model server again, and what its error said.

Shared by the hosted LLM backend and the hosted embeddings: both talk to OpenAI-compatible
servers and follow the same policy for 429/5xx answers and dropped connections.
"""
from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Connecting never needs long; a short cap leaves budget to retry an unreachable host.
CONNECT_TIMEOUT = 10.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A Retry-After longer than this means "come back later", not "retry this request".
MAX_RETRY_AFTER = 20.0
ERROR_DETAIL_CHARS = 300


def retry_delay(error: Exception, retry_after: float | None, attempt: int, max_retries: int, deadline: float,
                fail: type[Exception], timeout_name: str) -> float:
    """Seconds to wait before attempt `attempt + 1`; raises `fail` (chained to `error`) when
    there is none to make: retries used up, a server asking for a long pause, or no time left."""
    if attempt >= max_retries:
        tries = f"{attempt + 1} attempt" + ("s" if attempt else "")
        raise fail(f"{error} (gave up after {tries})") from error
    if retry_after is not None and retry_after > MAX_RETRY_AFTER:
        raise fail(f"{error} (server asks to retry after {retry_after:.0f} s)") from error
    if retry_after is not None:
        delay = retry_after
    else:  # exponential backoff with jitter, so clients that failed together spread out
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * random.uniform(0.5, 1.0)
    if time.monotonic() + delay >= deadline:
        raise fail(f"{error} (no time left in {timeout_name} to retry)") from error
    return delay


def retry_after(response) -> float | None:
    """An httpx response's Retry-After in seconds (either form the header allows), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def server_message(response) -> str:
    """The server's own error message if it sent the usual JSON, else its body or reason
    (not yet redacted: the caller removes secrets before showing it)."""
    try:
        error = response.json().get("error")
        detail = error.get("message") if isinstance(error, dict) else error
    except (ValueError, RecursionError, AttributeError):
        detail = None
    return str(detail or response.text or response.reason_phrase)
