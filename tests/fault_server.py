"""A scripted OpenAI-compatible server on loopback that misbehaves on request.

Each POST takes the next behaviour from the script (the last one repeats):

    ok         a normal SSE stream of `deltas`, then [DONE]
    echo       like ok, streaming the first line of the last message word by word (a model
               that answers from what it was sent: a mix-up of requests shows in the reply)
    empty      a stream with a role chunk and a finish chunk but no text
    json       a non-streamed completion (application/json)
    html       a web page, as a wrong base URL might give
    hang       send nothing for `hang_seconds`
    stall      stream the deltas, then send nothing for `hang_seconds` (no [DONE])
    malformed  stream the first delta, then a chunk that is not JSON
    cut        stream the first delta, then close the connection mid-body
    truncated  stream the deltas and end the body cleanly, but without [DONE]
    429        Too Many Requests with `Retry-After: <retry_after>` (default 0)
    401, 500, 503  an error status with an OpenAI-style JSON error body
    echo_401, echo_500  that error status, its message echoing the request's headers (API key included)
    echo_stream_error   stream the first delta, then an error event echoing the headers

Replies that are well framed but not what the API promises:

    delta_string     stream the first delta, then a chunk whose `delta` is a string
    content_int      stream the first delta, then a chunk whose `content` is the number 42
    deep_json        stream the first delta, then a chunk nested 100,000 arrays deep
    huge_number      stream the first delta, then a chunk with a 5,000-digit integer
    choices_missing  a non-streamed completion (application/json) without `choices`
    message_string   a non-streamed completion whose `message` is a string
    bad_gzip         a stream declared `Content-Encoding: gzip` whose body is not gzip
    bad_gzip_error   HTTP 500 with such a body

`free_port()` gives a port nobody listens on (for "connection refused").
"""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELTAS = ["Hel", "lo", ", ", "world", "!"]
ERROR_STATUSES = {"401": 401, "429": 429, "500": 500, "503": 503}
ECHO_STATUSES = {"echo_401": 401, "echo_500": 500}
BAD_CHUNKS = {
    "delta_string": b'data: {"choices": [{"index": 0, "delta": "The police"}]}\n\n',
    "content_int": b'data: {"choices": [{"index": 0, "delta": {"content": 42}}]}\n\n',
    "deep_json": b"data: " + b"[" * 100_000 + b"\n\n",
    "huge_number": b'data: {"created": ' + b"9" * 5000 + b', "choices": []}\n\n',
}
BAD_COMPLETIONS = {
    "choices_missing": {"id": "chatcmpl-1", "object": "chat.completion", "usage": {"total_tokens": 9}},
    "message_string": {"choices": [{"index": 0, "message": "The police", "finish_reason": "stop"}]},
}
BAD_GZIP_STATUSES = {"bad_gzip": 200, "bad_gzip_error": 500}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FaultServer:
    """A threaded HTTP server following a script of behaviours; use as a context manager."""

    def __init__(
        self,
        script: list[str],
        deltas: list[str] = DELTAS,
        hang_seconds: float = 30.0,
        retry_after: str = "0",
        delta_interval: float = 0.0,
    ):
        self.script = list(script)
        self.deltas = deltas
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.delta_interval = delta_interval  # seconds between streamed deltas
        self.requests: list[dict] = []   # {"path", "headers", "body"} of each POST received
        self.deltas_sent = 0               # content chunks written, over all requests
        self.stopping = threading.Event()  # ends hangs early when the test is over
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        """The URL to configure as `openai_base_url`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def next_behaviour(self, request: dict) -> str:
        """Record a request and return what to do with it."""
        with self._lock:
            self.requests.append(request)
            return self.script[min(len(self.requests), len(self.script)) - 1]

    def __enter__(self) -> "FaultServer":
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_FaultHandler):
        fault_server = server

    return Handler


class _FaultHandler(BaseHTTPRequestHandler):
    """Answers POSTs as the server's script says; HTTP/1.1 with chunked streams, like real servers."""

    protocol_version = "HTTP/1.1"
    fault_server: FaultServer

    def log_message(self, format, *args) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        request = {"path": self.path, "headers": dict(self.headers), "body": body}
        behaviour = self.fault_server.next_behaviour(request)
        self.request_body = body
        if behaviour in ERROR_STATUSES:
            self._send_error(ERROR_STATUSES[behaviour])
        elif behaviour in ECHO_STATUSES:
            self._send_json(ECHO_STATUSES[behaviour], {"error": self._echo_error()})
        elif behaviour in BAD_COMPLETIONS:
            self._send_json(200, BAD_COMPLETIONS[behaviour])
        elif behaviour in BAD_GZIP_STATUSES:
            headers = {"Content-Encoding": "gzip"}
            self._send(BAD_GZIP_STATUSES[behaviour], "text/event-stream", b"data: this is not gzip\n\n", headers)
        elif behaviour == "json":
            self._send_json(200, _completion("".join(self.fault_server.deltas)))
        elif behaviour == "html":
            self._send(200, "text/html", b"<html><body>Welcome</body></html>")
        elif behaviour == "hang":
            self.fault_server.stopping.wait(self.fault_server.hang_seconds)
        else:
            self._stream(behaviour)

    def _send_error(self, status: int) -> None:
        extra = {"Retry-After": self.fault_server.retry_after} if status == 429 else {}
        self._send_json(status, {"error": {"message": f"scripted {status}", "type": "test"}}, extra)

    def _echo_error(self) -> dict:
        """An error that repeats the request's credentials, as some proxies and debug servers do."""
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        message = f"Incorrect API key provided: {token}. Request headers: {json.dumps(dict(self.headers))}"
        return {"message": message, "type": "invalid_request_error"}

    def _send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send(status, "application/json", json.dumps(payload).encode(), headers)

    def _send(self, status: int, content_type: str, data: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": content_type, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, behaviour: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
            for text in self._deltas_for(behaviour):
                self.fault_server.stopping.wait(self.fault_server.delta_interval)
                self._event({"choices": [{"index": 0, "delta": {"content": text}}]})
                self.fault_server.deltas_sent += 1
            self._finish(behaviour)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up: that is its right

    def _deltas_for(self, behaviour: str) -> list[str]:
        deltas = self.fault_server.deltas
        if behaviour == "echo":
            last = str((self.request_body.get("messages") or [{}])[-1].get("content", ""))
            return [word + " " for word in last.splitlines()[0].split()] if last.strip() else ["…"]
        if behaviour in ("ok", "truncated", "stall"):
            return deltas
        return [] if behaviour == "empty" else deltas[:1]

    def _finish(self, behaviour: str) -> None:
        if behaviour == "stall":
            self.fault_server.stopping.wait(self.fault_server.hang_seconds)
            self.close_connection = True  # the client gave up long ago: nothing more to send
            return
        if behaviour == "malformed":
            self._chunk(b'data: {"choices": [{"delta": {"content": "x"\n\n')
        elif behaviour in BAD_CHUNKS:
            self._chunk(BAD_CHUNKS[behaviour])
        elif behaviour == "echo_stream_error":
            self._event({"error": self._echo_error()})
        elif behaviour == "cut":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # no terminating chunk: a broken body
            return
        if behaviour in ("ok", "echo", "empty") or behaviour in BAD_CHUNKS:  # the bad chunk is the only fault
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # the terminating zero-length chunk: the body ends cleanly

    def _event(self, payload: dict) -> None:
        self._chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _completion(text: str) -> dict:
    message = {"role": "assistant", "content": text}
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
