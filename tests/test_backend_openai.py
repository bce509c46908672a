"""The OpenAI-compatible backend against a misbehaving local server, and a real llama.cpp server."""
from __future__ import annotations

import time

import pytest
from fault_server import DELTAS, FaultServer, free_port

from rag.answer.backends.base import BackendContext, BackendError, Prompt
from rag.answer.backends.openai import OpenAIBackend, auth_headers, chat_completions_url, create
from rag.eval.model_server import llama_cpp_server
from rag.settings import Settings

TIMEOUT = 3.0
# Slack for thread start-up on a busy machine; a missed deadline overshoots by a whole TIMEOUT.
MARGIN = 1.5
PROMPT = Prompt(
    messages=[{"role": "user", "content": "Say hello to the world."}],
    question="Say hello to the world.",
    language="en",
)


def backend_for(base_url: str, retries: int = 2, **overrides) -> OpenAIBackend:
    settings = Settings(openai_base_url=base_url, llm_max_retries=retries, **overrides)
    return create(BackendContext(settings))


def run(backend: OpenAIBackend, timeout: float = TIMEOUT) -> tuple[list[str], float, BackendError | None]:
    """Stream to the end: the deltas received, the seconds it took, and the error if any."""
    received: list[str] = []
    started = time.monotonic()
    try:
        for delta in backend.stream(PROMPT, max_tokens=32, timeout=timeout):
            received.append(delta)
    except BackendError as error:
        return received, time.monotonic() - started, error
    return received, time.monotonic() - started, None


def test_normal_stream_yields_the_deltas_in_order():
    with FaultServer(["ok"]) as server:
        received, _, error = run(backend_for(server.base_url, openai_model="local-model"))
    assert received == DELTAS and error is None
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["stream"] is True and request["body"]["max_tokens"] == 32
    assert request["body"]["model"] == "local-model"
    assert request["body"]["messages"] == PROMPT.messages


def test_api_key_header_is_sent_only_when_the_variable_is_set(monkeypatch):
    monkeypatch.setenv("RAG_TEST_LLM_KEY", "sk-test-123")
    with FaultServer(["ok"]) as server:
        list(backend_for(server.base_url, openai_api_key_env="RAG_TEST_LLM_KEY").stream(PROMPT, 8, TIMEOUT))
        monkeypatch.delenv("RAG_TEST_LLM_KEY")
        list(backend_for(server.base_url, openai_api_key_env="RAG_TEST_LLM_KEY").stream(PROMPT, 8, TIMEOUT))
    with_key, without_key = ({k.lower(): v for k, v in r["headers"].items()} for r in server.requests)
    assert with_key["authorization"] == "Bearer sk-test-123"
    assert "authorization" not in without_key


def test_429_then_200_succeeds_after_one_retry():
    with FaultServer(["429", "ok"]) as server:
        received, _, error = run(backend_for(server.base_url))
    assert "".join(received) == "Hello, world!" and error is None
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "fault, requests_made, deltas_before_error, message",
    [
        ("hang", 1, [], "within the timeout"),
        ("stall", 1, DELTAS, "within the timeout"),
        ("malformed", 1, DELTAS[:1], "malformed JSON"),
        ("cut", 1, DELTAS[:1], "connection failed"),      # text was out: never retried
        ("truncated", 1, DELTAS, "before [DONE]"),
        ("html", 1, [], "a web page"),
        ("500", 3, [], "HTTP 500"),                       # retried: 1 + llm_max_retries
        ("503", 3, [], "HTTP 503: scripted 503"),         # the server's own error message
        ("401", 1, [], "HTTP 401: scripted 401 (check the API key in the environment variable OPENAI_API_KEY"),
    ],
)
def test_fault_ends_in_backend_error_within_the_timeout(fault, requests_made, deltas_before_error, message):
    with FaultServer([fault]) as server:
        received, elapsed, error = run(backend_for(server.base_url))
    assert error is not None and elapsed < TIMEOUT + MARGIN
    assert message in str(error) and server.base_url in str(error)
    assert len(server.requests) == requests_made
    assert received == deltas_before_error


def test_a_stream_that_trickles_then_stalls_is_cut_off_at_the_deadline():
    # Each read may wait the whole budget; only the watchdog keeps the total within it.
    with FaultServer(["stall"], delta_interval=0.4) as server:
        received, elapsed, error = run(backend_for(server.base_url))
    assert received == DELTAS and "within the timeout" in str(error)
    assert TIMEOUT - 0.1 < elapsed < TIMEOUT + 0.5


def test_connection_refused_is_retried_then_fails_naming_the_url():
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    _, elapsed, error = run(backend_for(base_url))
    assert "connection failed" in str(error) and "gave up after 3 attempts" in str(error)
    assert base_url in str(error) and elapsed < TIMEOUT + MARGIN


def test_long_retry_after_gives_up_at_once():
    with FaultServer(["429"], retry_after="120") as server:
        _, elapsed, error = run(backend_for(server.base_url))
    assert "HTTP 429" in str(error) and "retry after 120 s" in str(error)
    assert len(server.requests) == 1 and elapsed < 1.0


def test_empty_answer_yields_nothing():
    with FaultServer(["empty"]) as server:
        received, _, error = run(backend_for(server.base_url))
    assert received == [] and error is None


def test_non_streamed_json_answer_is_one_delta():
    with FaultServer(["json"]) as server:
        received, _, error = run(backend_for(server.base_url))
    assert received == ["Hello, world!"] and error is None


def test_closing_the_stream_early_does_not_wait_for_the_server():
    with FaultServer(["stall"]) as server:
        started = time.monotonic()
        stream = backend_for(server.base_url).stream(PROMPT, 8, timeout=30)
        assert next(stream) == DELTAS[0]
        stream.close()
        assert time.monotonic() - started < 2.0


def test_urls_and_headers_for_azure_deployments():
    deployment = "https://acme.openai.azure.com/openai/deployments/gpt4o"
    url = chat_completions_url(deployment + "?api-version=2024-10-21")
    assert url == deployment + "/chat/completions?api-version=2024-10-21"
    assert auth_headers(url, "key")["api-key"] == "key"
    assert "api-key" not in auth_headers(chat_completions_url("http://127.0.0.1:8080/v1/"), "key")
    assert chat_completions_url("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080/v1/chat/completions"


@pytest.fixture(scope="module")
def llama_server(smollm2_gguf, tmp_path_factory):
    """`python -m llama_cpp.server` serving SmolLM2 on a free loopback port, as model `smollm2`."""
    # One thread: llama.cpp's threads spin at barriers, so two of them on two busy cores crawl.
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    with llama_cpp_server(smollm2_gguf, "smollm2", context_window=2048, threads=1, startup_timeout=120,
                          log_path=log_path) as server:
        yield server.base_url


@pytest.mark.slow
def test_real_llama_cpp_server_streams_a_reply(llama_server):
    received, _, error = run(backend_for(llama_server, openai_model="smollm2"), timeout=120)
    assert error is None, error
    assert len(received) > 1 and "".join(received).strip()
