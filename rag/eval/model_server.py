"""A local OpenAI-compatible model server on loopback, for benchmarks and tests.

    with llama_cpp_server(gguf, alias="qwen", context_window=4096, threads=2) as server:
        ...  # server.base_url ("http://127.0.0.1:<port>/v1"), server.model ("qwen")

`llama_cpp_server` runs llama-cpp-python's own server (`python -m llama_cpp.server`, from
the `llm` extra) on a GGUF file, through `rag.answer.backends.llama_server`, which loads the
model with the in-process backend's weight-repacking rule (off on AMX CPUs, where it crashes); `serve` runs any command that listens on a given port and
answers `GET <base_url>/models` once it is ready. Either waits for that answer up to a
deadline, raises ServerError if the server exits first or never answers (naming its log and
quoting the log's end), and stops the server when the block ends, however it ends.

The server writes to a log file, not a pipe: llama.cpp logs about 200 kB at start-up, and a
pipe nobody reads fills up and blocks it. A temporary log is deleted after a clean run and
kept when anything failed, so the file an error names is there to read.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from rag.answer.backends.llamacpp import INSTALL_HINT, llama_cpp_installed

# Loading Qwen2.5-Coder-1.5B takes a few seconds on a quiet machine; much longer on a busy one.
STARTUP_TIMEOUT = 180.0
# SIGTERM starts uvicorn's graceful shutdown, which waits for an answer still streaming;
# after this many seconds the server is killed instead.
STOP_GRACE = 10.0
POLL_SECONDS = 0.25
# Longest wait for one readiness probe: a server that accepts connections but never
# replies must not hold the wait past its deadline for long.
PROBE_TIMEOUT = 2.0
LOG_TAIL_CHARS = 2000


class ServerError(RuntimeError):
    """The server exited or did not answer in time; `log_path` is its output."""

    def __init__(self, message: str, log_path: Path):
        super().__init__(message)
        self.log_path = log_path


@dataclass(frozen=True)
class Server:
    """A running server: where to reach it, the model name it knows, its process and log."""

    base_url: str
    model: str
    process: subprocess.Popen
    log_path: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    Another program may take it before the server binds it; the server then exits at start-up
    and ServerError quotes its "address in use" from the log."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def llama_cpp_server(model_path: Path, alias: str, context_window: int, threads: int,
                     startup_timeout: float = STARTUP_TIMEOUT, log_path: Path | None = None,
                     weight_repacking: str = "auto") -> Iterator[Server]:
    """`python -m llama_cpp.server` serving `model_path` as model `alias` on a free loopback port.

    `weight_repacking` is the `llamacpp_weight_repacking` setting ("auto", "on" or "off")."""
    require_llama_cpp_server(model_path)
    port = free_port()
    # logits_all: the server defaults to keeping the logits of every prompt token (n_ctx x vocabulary
    # floats, 2.5 GB for Qwen2.5 at 4096) and computing them; the in-process backend keeps the last only.
    command = [sys.executable, "-m", "rag.answer.backends.llama_server", "--weight-repacking", weight_repacking,
               "--model", str(model_path), "--model_alias", alias,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context_window),
               "--n_threads", str(threads), "--logits_all", "false"]
    with serve(command, port, alias, startup_timeout, log_path=log_path, name="llama_cpp.server") as server:
        yield server


def require_llama_cpp_server(model_path: Path) -> None:
    """RuntimeError or FileNotFoundError, with the step to run, unless `llama_cpp_server` can start."""
    if not llama_cpp_installed():
        raise RuntimeError(INSTALL_HINT)
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"no GGUF model file at {model_path}: run `make models` or scripts/fetch_gguf.py")


@contextmanager
def serve(command: list[str], port: int, model: str = "", startup_timeout: float = STARTUP_TIMEOUT,
          log_path: Path | None = None, name: str = "", stop_grace: float = STOP_GRACE) -> Iterator[Server]:
    """Run `command` (which must listen on 127.0.0.1:`port`) until the block ends; ServerError if it
    exits or does not answer `/v1/models` within `startup_timeout` seconds."""
    temporary = log_path is None
    log_path = Path(log_path) if log_path else _temporary_log()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/v1", model, process, log_path)
    try:
        _wait_until_ready(server, name or Path(command[0]).name, startup_timeout)
        yield server
    finally:
        stop(process, stop_grace)
    # Reached only when neither start-up nor the block raised: the log is of no further use.
    if temporary:
        log_path.unlink(missing_ok=True)


def _temporary_log() -> Path:
    handle, path = tempfile.mkstemp(prefix="model-server-", suffix=".log")
    os.close(handle)
    return Path(path)


def _wait_until_ready(server: Server, name: str, timeout: float) -> None:
    """Return once `<base_url>/models` answers 2xx; ServerError if the process exits or time runs out."""
    url = f"{server.base_url}/models"
    deadline = time.monotonic() + timeout
    while True:
        # Checked before each probe, so an exited server is never mistaken for another
        # program that happens to answer on the same port.
        code = server.process.poll()
        if code is not None:
            raise _failure(server, f"{name} exited with code {exit_code(code)} before answering {url}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _failure(server, f"{name} did not answer {url} within {timeout:g} s")
        if _answers(url, min(PROBE_TIMEOUT, remaining)):
            return
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))


def ensure_running(server: Server, name: str = "the model server") -> None:
    """ServerError if the server has exited since it started: a client with a fallback (the
    answer backends quote the sources when the model fails) would otherwise carry on unnoticed."""
    code = server.process.poll()
    if code is not None:
        raise _failure(server, f"{name} exited with code {exit_code(code)} while serving")


def exit_code(code: int) -> str:
    """A return code as the reader needs it: negative codes are the signal that ended the process."""
    if code >= 0:
        return str(code)
    try:
        return f"{code} ({signal.Signals(-code).name})"
    except ValueError:
        return str(code)


def _answers(url: str, timeout: float) -> bool:
    try:
        # trust_env=False: a proxy configured for the outside world must not see loopback probes.
        with httpx.Client(trust_env=False, timeout=timeout) as client:
            return client.get(url).is_success
    except httpx.HTTPError:  # not listening yet, or listening but not replying yet
        return False


def _failure(server: Server, what: str) -> ServerError:
    tail = log_tail(server.log_path)
    return ServerError(f"{what}; its log is {server.log_path}" + (f", ending:\n{tail}" if tail else " (empty)"),
                       server.log_path)


def log_tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    """The last `chars` characters of a log (undecodable bytes replaced)."""
    try:
        return path.read_bytes()[-chars:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


def stop(process: subprocess.Popen, grace: float = STOP_GRACE) -> None:
    """Terminate the process, kill it if it is still running after `grace` seconds, and reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
