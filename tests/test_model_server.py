"""The model-server helper: a clear error for a server that dies or never answers, and no process left behind."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.eval.model_server import ServerError, ensure_running, free_port, llama_cpp_server, serve

# Each fake prints its pid first, so a test can check the process is gone even when serve() raised.
SILENT = """
import os, socket, sys
print(os.getpid(), flush=True)
listener = socket.socket()
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(16)
held = []
while True:  # accepts every connection and never replies
    held.append(listener.accept()[0])
"""
CRASHING = """
import os, sys
print(os.getpid(), flush=True)
print("error loading model: invalid magic in model.gguf", flush=True)
sys.exit(3)
"""
READY = """
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

if sys.argv[2:] == ["stubborn"]:  # shrugs off SIGTERM, as a server stuck mid-answer may
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

class Models(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

print(os.getpid(), flush=True)
HTTPServer(("127.0.0.1", int(sys.argv[1])), Models).serve_forever()
"""


def fake(script: str, port: int, *args: str) -> list[str]:
    return [sys.executable, "-c", script, str(port), *args]


def gone(log_path: Path) -> bool:
    """Whether the process whose pid opens the log no longer exists (exited and reaped)."""
    pid = int(log_path.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_server_that_never_answers_times_out_naming_its_log():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ServerError, match="silent did not answer .* within 3 s") as caught:
        with serve(fake(SILENT, port), port, startup_timeout=3, name="silent"):
            pytest.fail("the block must not run")
    log = caught.value.log_path
    try:
        assert time.monotonic() - started < 8  # one probe may block 2 s past the deadline at most
        assert str(log) in str(caught.value) and log.is_file()  # kept for reading
        assert gone(log)
    finally:
        log.unlink()


def test_a_server_that_exits_at_once_reports_its_code_and_log_tail(tmp_path):
    port = free_port()
    with pytest.raises(ServerError, match="exited with code 3") as caught:
        with serve(fake(CRASHING, port), port, startup_timeout=30, log_path=tmp_path / "server.log"):
            pytest.fail("the block must not run")
    assert "invalid magic in model.gguf" in str(caught.value)
    assert str(tmp_path / "server.log") in str(caught.value)
    assert gone(tmp_path / "server.log")


def test_a_ready_server_is_reachable_then_stopped_and_its_temporary_log_removed():
    port = free_port()
    with serve(fake(READY, port), port, model="fake", startup_timeout=30) as server:
        assert server.base_url == f"http://127.0.0.1:{port}/v1" and server.model == "fake"
        with httpx.Client(trust_env=False) as client:
            assert client.get(f"{server.base_url}/models").json()["data"][0]["id"] == "fake"
        pid = int(server.log_path.read_text().split()[0])
    assert server.process.poll() is not None
    assert not server.log_path.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_failing_block_still_stops_the_server_and_keeps_its_log():
    port = free_port()
    with pytest.raises(ValueError, match="the benchmark broke"):
        with serve(fake(READY, port), port, startup_timeout=30) as server:
            raise ValueError("the benchmark broke")
    try:
        assert server.process.poll() is not None and gone(server.log_path)
    finally:
        server.log_path.unlink()


def test_a_server_that_dies_while_serving_is_reported_with_its_signal(tmp_path):
    port = free_port()
    with pytest.raises(ServerError, match=r"fake exited with code -9 \(SIGKILL\) while serving"):
        with serve(fake(READY, port), port, startup_timeout=30, log_path=tmp_path / "log") as server:
            ensure_running(server, "fake")
            server.process.kill()
            server.process.wait()
            ensure_running(server, "fake")


def test_a_server_ignoring_sigterm_is_killed_after_the_grace(tmp_path):
    port = free_port()
    with serve(fake(READY, port, "stubborn"), port, startup_timeout=30, log_path=tmp_path / "log",
               stop_grace=0.5) as server:
        pass
    assert server.process.returncode == -signal.SIGKILL


def test_a_missing_model_file_fails_before_starting_anything(tmp_path):
    with pytest.raises(FileNotFoundError, match="no GGUF model file"):
        with llama_cpp_server(tmp_path / "absent.gguf", "absent", context_window=512, threads=1):
            pytest.fail("the block must not run")
