"""An OpenAI-compatible `/v1/embeddings` server on loopback, serving the bundled model.

It embeds the raw text it receives with the local model (no prompt of its own, as Text
Embeddings Inference or vLLM do: the client sends "query: "/"passage: " itself) and returns
the vectors scaled by 2, so a client that forgets to normalise is caught.

Each POST takes the next behaviour from the script (the last one repeats):

    ok          the embeddings of the inputs
    429, 500    that error status, with an OpenAI-style JSON error body
    echo_401    401, its message echoing the request's headers (API key included)
    hang        send nothing for `hang_seconds`
    malformed   a 200 body that is not JSON
    ragged      the first vector one number short (not all vectors have one dimension)
    short       every vector cut to its first 256 numbers (a different model's dimension)
    missing     one embedding fewer than inputs
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

SCALE = 2.0
SHORT_DIM = 256
ERROR_STATUSES = {"429": 429, "500": 500}


class EmbeddingServer:
    """A threaded embeddings server following a script of behaviours; use as a context manager."""

    def __init__(self, embedder, script: list[str] = ("ok",), hang_seconds: float = 30.0):
        self.embedder = embedder
        embedder.model  # loaded now, not inside the first request's timeout
        self.script = list(script)
        self.hang_seconds = hang_seconds
        self.requests: list[dict] = []  # {"path", "headers", "body"} of each POST received
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        """The URL to configure as `embedding_base_url`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def next_behaviour(self, request: dict) -> str:
        with self._lock:
            self.requests.append(request)
            return self.script[min(len(self.requests), len(self.script)) - 1]

    def embed(self, texts: list[str]) -> np.ndarray:
        """The bundled model's vectors for the texts exactly as sent, scaled by SCALE."""
        with self._lock:  # one encode at a time: the model is shared with the test process
            vectors = self.embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return vectors * SCALE

    def __enter__(self) -> "EmbeddingServer":
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(server: EmbeddingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_EmbeddingHandler):
        embedding_server = server

    return Handler


class _EmbeddingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    embedding_server: EmbeddingServer

    def log_message(self, format, *args) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        request = {"path": self.path, "headers": dict(self.headers), "body": body}
        behaviour = self.embedding_server.next_behaviour(request)
        if self.path != "/v1/embeddings":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
        elif behaviour in ERROR_STATUSES:
            self._send_json(ERROR_STATUSES[behaviour], {"error": {"message": f"scripted {behaviour}"}})
        elif behaviour == "echo_401":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            message = f"Incorrect API key provided: {token}. Request headers: {json.dumps(dict(self.headers))}"
            self._send_json(401, {"error": {"message": message}})
        elif behaviour == "hang":
            self.embedding_server.stopping.wait(self.embedding_server.hang_seconds)
        elif behaviour == "malformed":
            self._send(200, b'{"data": [{"embedding": [0.1, ')
        else:
            self._send_json(200, self._embeddings(body, behaviour))

    def _embeddings(self, body: dict, behaviour: str) -> dict:
        texts = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        vectors = [v.tolist() for v in self.embedding_server.embed(texts)]
        if behaviour == "ragged":
            vectors[0] = vectors[0][:-1]
        elif behaviour == "short":
            vectors = [v[:SHORT_DIM] for v in vectors]
        elif behaviour == "missing":
            vectors = vectors[:-1]
        # Listed in reverse: the API orders by "index", not by position.
        data = [{"object": "embedding", "index": n, "embedding": v} for n, v in enumerate(vectors)][::-1]
        return {"object": "list", "data": data, "model": body.get("model"),
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}

    def _send_json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode())

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
