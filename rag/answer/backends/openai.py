"""A backend for any OpenAI-compatible `/chat/completions` endpoint, streamed over SSE.

Works with OpenAI, Azure OpenAI (the v1 API, or a deployment URL with `?api-version=`),
vLLM, Ollama and the llama.cpp servers: set `openai_base_url` (e.g.
`http://127.0.0.1:8080/v1`), `openai_model`, and put the API key in the environment
variable named by `openai_api_key_env` (local servers need none).

`timeout` is the budget for the whole answer, retries included: the HTTP timeouts are
cut to what is left of it, and a watchdog shuts the socket down at the deadline so that
a server which stops sending mid-stream cannot hold the caller past it.

A reply that is not what the API promises (a mistyped chunk, bad JSON, a body that does not
decode) is a BackendError naming the fault, so the caller falls back. Server text quoted in
an error has the API key and anything shaped like a credential masked (`redact`).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import httpx

from rag.answer.backends.base import BackendContext, BackendError, Prompt
from rag.errors.http_retry import (
    CONNECT_TIMEOUT,
    ERROR_DETAIL_CHARS,
    RETRYABLE_STATUS,
    retry_after,
    retry_delay,
    server_message,
)
from rag.errors.redact import redact


class _Transient(BackendError):
    """A failure that another attempt may not have: 429/5xx, refused or dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Server:
    """The endpoint replies come from, and the secrets no error message may repeat from them."""

    url: str
    secrets: tuple[str, ...] = ()

    def detail(self, text: object) -> str:
        """Server-sent (or exception) text fit for an error message: redacted first, so no cut key survives."""
        return redact(str(text), self.secrets)[:ERROR_DETAIL_CHARS]

    def malformed(self, kind: str, problem: str, body: object) -> BackendError:
        """The error for a reply that parsed but is not shaped as the API promises."""
        return BackendError(f"{self.url} sent a malformed {kind} ({problem}): {self.detail(body)}")


class OpenAIBackend:
    """Streams chat completions from an OpenAI-compatible server, with retries and a deadline."""

    name = "openai"

    def __init__(self, settings, api_key: str | None = None):
        self.url = chat_completions_url(settings.openai_base_url)
        self.key_env = settings.openai_api_key_env
        self.model = settings.openai_model
        self.context_window = settings.openai_context_window
        self.max_retries = settings.llm_max_retries
        self.headers = auth_headers(self.url, api_key)
        self.server = _Server(self.url, (api_key,) if api_key else ())

    def stream(self, prompt: Prompt, max_tokens: int, timeout: float) -> Iterator[str]:
        """Yield the answer's text deltas; BackendError on failure, even after some text."""
        deadline = time.monotonic() + timeout
        payload = {
            "model": self.model,
            "messages": prompt.messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": True,
        }
        with httpx.Client(headers=self.headers) as client:
            for attempt in range(self.max_retries + 1):
                yielded = False
                try:
                    for delta in self._attempt(client, payload, deadline):
                        yielded = True
                        yield delta
                    return
                except _Transient as error:
                    if yielded:  # the caller already has part of an answer: never repeat it
                        raise BackendError(str(error)) from error
                    time.sleep(self._retry_delay(error, attempt, deadline))

    def _attempt(self, client: httpx.Client, payload: dict, deadline: float) -> Iterator[str]:
        """One request: the deltas of its stream, or BackendError/_Transient."""
        remaining = _time_left(deadline, self.url)
        timeout = httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT, remaining))
        watchdog = _Watchdog(deadline)
        try:
            with client.stream("POST", self.url, json=payload, timeout=timeout) as response:
                watchdog.arm(response)
                _check_status(response, self.server, self.key_env)
                yield from _response_deltas(response, self.server, deadline)
        except httpx.TransportError as error:
            if watchdog.fired or time.monotonic() >= deadline:
                raise BackendError(f"{self.url}: no complete answer within the timeout") from error
            reason = self.server.detail(error) or type(error).__name__
            raise _Transient(f"{self.url}: connection failed ({reason})") from error
        except httpx.DecodingError as error:  # e.g. "Content-Encoding: gzip" on a body that is not gzip
            reason = self.server.detail(error)
            raise BackendError(f"{self.url} sent a body that could not be decoded ({reason})") from error
        finally:
            watchdog.cancel()

    def _retry_delay(self, error: _Transient, attempt: int, deadline: float) -> float:
        """Seconds to wait before the next attempt; BackendError when there is none to make."""
        return retry_delay(error, error.retry_after, attempt, self.max_retries, deadline, BackendError, "the timeout")


def create(context: BackendContext) -> OpenAIBackend:
    """The `openai` entry point: a backend configured from the settings and environment."""
    settings = context.settings
    return OpenAIBackend(settings, api_key=os.environ.get(settings.openai_api_key_env) or None)


def chat_completions_url(base_url: str) -> str:
    """`<base_url>/chat/completions`, keeping a query string such as Azure's api-version."""
    url = httpx.URL(base_url)
    return str(url.copy_with(path=url.path.rstrip("/") + "/chat/completions"))


def auth_headers(url: str, api_key: str | None) -> dict[str, str]:
    """Bearer auth for everyone; Azure hosts also get `api-key`, which its deployment URLs require."""
    if not api_key:
        return {}
    headers = {"Authorization": f"Bearer {api_key}"}
    if httpx.URL(url).host.endswith(".azure.com"):
        headers["api-key"] = api_key
    return headers


def _time_left(deadline: float, url: str) -> float:
    """Seconds until the deadline; BackendError once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BackendError(f"{url}: no complete answer within the timeout")
    return remaining


def _check_status(response: httpx.Response, server: _Server, key_env: str) -> None:
    """BackendError (or _Transient, for retryable statuses) unless the status is 2xx."""
    if response.is_success:
        return
    response.read()
    message = f"{server.url} answered HTTP {response.status_code}: {_error_detail(response, server)}"
    if response.status_code in (401, 403):
        message += f" (check the API key in the environment variable {key_env})"
    elif response.status_code == 404:
        message += " (check openai_base_url and openai_model)"
    if response.status_code in RETRYABLE_STATUS:
        raise _Transient(message, retry_after(response))
    raise BackendError(message)


def _error_detail(response: httpx.Response, server: _Server) -> str:
    return server.detail(server_message(response))


def _response_deltas(response: httpx.Response, server: _Server, deadline: float) -> Iterator[str]:
    """Text deltas of a 2xx response: an SSE stream, or one JSON body from a non-streaming server."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("text/html"):
        raise BackendError(f"{server.url} answered with a web page, not an event stream (check openai_base_url)")
    if content_type.startswith("application/json"):
        response.read()
        yield from _message_text(_parse_json(response.text, server), server)
        return
    for payload in _sse_data(_lines_until(response.iter_lines(), deadline, server.url), server.url):
        yield from _delta_text(_parse_json(payload, server), server)


def _lines_until(lines: Iterable[str], deadline: float, url: str) -> Iterator[str]:
    """The lines, with the deadline checked after each (the watchdog covers blocked reads)."""
    for line in lines:
        _time_left(deadline, url)
        yield line


def _sse_data(lines: Iterable[str], url: str) -> Iterator[str]:
    """The data of each server-sent event up to `[DONE]`; _Transient if the stream ends first."""
    data: list[str] = []
    for line in lines:
        if line:
            field, _, value = line.partition(":")
            if field == "data":  # other fields and ":" comments (keep-alives) carry no text
                data.append(value[1:] if value.startswith(" ") else value)
            continue
        event, data = "\n".join(data), []
        if event.strip() == "[DONE]":
            return
        if event:
            yield event
    if "\n".join(data).strip() != "[DONE]":  # tolerate a final [DONE] without its blank line
        raise _Transient(f"{url}: the stream ended before [DONE] (connection cut?)")


def _parse_json(text: str, server: _Server) -> dict:
    try:
        parsed = json.loads(text)
    # ValueError also covers integers too long to convert; RecursionError, nesting too deep.
    except (ValueError, RecursionError) as error:
        raise BackendError(f"{server.url} sent malformed JSON: {server.detail(text)!r}") from error
    if not isinstance(parsed, dict):
        raise BackendError(f"{server.url} sent JSON that is not an object: {server.detail(text)!r}")
    if parsed.get("error"):  # vLLM and proxies report failures inside a 200 stream
        raise BackendError(f"{server.url} reported an error: {server.detail(parsed['error'])}")
    return parsed


def _delta_text(chunk: dict, server: _Server) -> Iterator[str]:
    """The content delta of a stream chunk's first choice, if any (role and usage chunks have none)."""
    for choice in _choices(chunk, server, "stream chunk")[:1]:
        yield from _content(choice, "delta", server, "stream chunk", chunk)


def _message_text(body: dict, server: _Server) -> Iterator[str]:
    """The message content of a non-streamed completion, as one delta."""
    choices = _choices(body, server, "completion")
    if not choices:  # a stream may have chunks without choices; a whole completion may not
        raise server.malformed("completion", "no 'choices'", body)
    yield from _content(choices[0], "message", server, "completion", body)


def _choices(body: dict, server: _Server, kind: str) -> list[dict]:
    choices = body.get("choices") or []
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise server.malformed(kind, "no valid 'choices' list", body)
    return choices


def _content(choice: dict, field: str, server: _Server, kind: str, body: dict) -> Iterator[str]:
    """The text of a choice's `delta` or `message`; nothing when it has none (a role or tool call)."""
    part = choice.get(field)
    if part is None:
        return
    if not isinstance(part, dict):
        raise server.malformed(kind, f"'{field}' is {type(part).__name__}, not an object", body)
    content = part.get("content")
    if content is not None and not isinstance(content, str):
        raise server.malformed(kind, f"'content' is {type(content).__name__}, not text", body)
    if content:
        yield content


class _Watchdog:
    """Shuts a response's socket down at the deadline, so a read blocked on a silent server returns."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.fired = False
        self._timer: threading.Timer | None = None

    def arm(self, response: httpx.Response) -> None:
        """Start timing; without a real socket (a mock transport) the per-line check remains."""
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._fire, [sock])
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        """Stop timing (the attempt is over)."""
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self, sock: socket.socket) -> None:
        self.fired = True
        try:
            # The plain-socket shutdown, also for TLS: it wakes the blocked read with EOF
            # without touching the SSL object the reading thread is using.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: the read has ended anyway
