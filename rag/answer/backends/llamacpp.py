"""A local LLM through llama-cpp-python, on a GGUF file (see `scripts/fetch_gguf.py`).

llama-cpp-python is optional (it compiles llama.cpp from source; `make run` leaves it out):
choosing the backend without it fails at once with the step to run, and the package is
imported only when an answer is first asked for. A loaded model is kept for the life of
the process, shared by every backend instance with the same file and context settings,
and used by one answer at a time (a llama.cpp context is not thread-safe).

On a CPU with AMX, the model is loaded without llama.cpp's weight repacking, which
crashes there (see `rag.answer.backends.llamacpp_cpu`; setting `llamacpp_weight_repacking`).

The deadline is checked after every generated token. The prompt itself is evaluated in
one uninterruptible call, which takes up to a minute for a full 4096-token window on
two cores: keep `llm_timeout` above that.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rag.answer.backends.base import BackendContext, BackendError, Prompt
from rag.answer.backends.llamacpp_cpu import check_mode, weight_repacking
from rag.errors import SettingsError

# The file `scripts/fetch_gguf.py` writes by default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M.
DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
# Characters of a malformed chunk quoted in the error.
ERROR_DETAIL_CHARS = 300
INSTALL_HINT = (
    "llama-cpp-python is not installed: run `make models` (it compiles llama.cpp from source, about "
    "7 minutes on 2 cores with gcc and cmake, and fetches the default model), or install the package alone "
    "with `pip install -c requirements.lock -c requirements-llm.lock -e '.[llm]'`"
)
FETCH_HINT = ("run `make models` (or `python scripts/fetch_gguf.py`) to fetch the default model, "
              "or set llamacpp_model_path (RAG_LLAMACPP_MODEL_PATH) to a .gguf file")


@dataclass
class _LoadedModel:
    """A llama.cpp model in memory and the lock that serialises its use."""

    llama: object
    lock: threading.Lock


_loaded: dict[tuple[str, int, int, str], _LoadedModel] = {}
_loading = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Freed while llama_cpp's module globals still exist: left to the garbage collector at
    # interpreter exit, Llama.__del__ runs after them and prints a TypeError traceback.
    for loaded in _loaded.values():
        loaded.llama.close()
    _loaded.clear()


def models_dir(settings) -> Path:
    """Where fetched GGUF files live: `<cache_dir>/models`."""
    return Path(settings.cache_dir) / "models"


def model_path(settings) -> Path:
    """The configured `llamacpp_model_path`, or the default model in `models_dir` if unset."""
    configured = Path(settings.llamacpp_model_path)
    return configured if configured != Path("") else models_dir(settings) / DEFAULT_GGUF_NAME


class LlamaCppBackend:
    """Streams chat completions from a GGUF model run in-process by llama.cpp."""

    name = "llamacpp"
    serial = True  # one model in memory, all threads on one answer

    def __init__(self, settings):
        self.model_path = model_path(settings)
        self.context_window = settings.llamacpp_context_window
        self.threads = thread_count(settings.llamacpp_threads)
        self.weight_repacking = check_mode(settings.llamacpp_weight_repacking)

    def stream(self, prompt: Prompt, max_tokens: int, timeout: float) -> Iterator[str]:
        """Yield the answer's text deltas (greedy decoding); BackendError on failure or timeout."""
        deadline = time.monotonic() + timeout
        model = load_model(self.model_path, self.context_window, self.threads, self.weight_repacking)
        if not model.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise BackendError(f"{self.model_path.name} was busy with another answer for the whole timeout")
        try:
            yield from self._generate(model.llama, prompt, max_tokens, deadline)
        finally:
            model.lock.release()

    def _generate(self, llama, prompt: Prompt, max_tokens: int, deadline: float) -> Iterator[str]:
        chunks = None
        try:
            chunks = llama.create_chat_completion(
                messages=prompt.messages, stream=True, max_tokens=max_tokens, temperature=0
            )
            for chunk in chunks:
                if time.monotonic() > deadline:
                    raise BackendError(f"{self.model_path.name}: no complete answer within the timeout")
                content = _chunk_text(chunk, self.model_path.name)
                if content:
                    yield content
        except (ValueError, RuntimeError) as error:  # e.g. a prompt longer than the context window
            raise BackendError(f"llama.cpp failed on {self.model_path.name}: {error}") from error
        finally:
            if chunks is not None:
                chunks.close()  # stops generation at once when the caller or the deadline ends it


def _chunk_text(chunk, model_name: str) -> str | None:
    """The content delta of a stream chunk; BackendError if the chunk is not shaped like one.

    llama-cpp-python's chat handlers (some of them third-party templates) build these dicts
    by hand, so a malformed one is a failed answer, not a crash."""
    try:
        content = chunk["choices"][0]["delta"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        problem = _chunk_problem(chunk)
        raise BackendError(f"llama.cpp sent a malformed stream chunk for {model_name} ({problem}): "
                           f"{str(chunk)[:ERROR_DETAIL_CHARS]}") from error
    if content is not None and not isinstance(content, str):
        raise BackendError(f"llama.cpp sent a malformed stream chunk for {model_name} ('content' is "
                           f"{type(content).__name__}, not text): {str(chunk)[:ERROR_DETAIL_CHARS]}")
    return content


def _chunk_problem(chunk) -> str:
    """What is missing or mistyped in a chunk that has no `choices[0].delta` object."""
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not isinstance(choices, list) or not choices:
        return "no 'choices'"
    if not isinstance(choices[0], dict):
        return f"a choice is {type(choices[0]).__name__}, not an object"
    return f"'delta' is {type(choices[0].get('delta')).__name__}, not an object"


def create(context: BackendContext) -> LlamaCppBackend:
    """The `llamacpp` entry point; the model is loaded at the first answer, not here.

    BackendError (with the step to run) when llama-cpp-python is not installed."""
    if not llama_cpp_installed():
        raise BackendError(INSTALL_HINT)
    return LlamaCppBackend(context.settings)


def llama_cpp_installed() -> bool:
    """Whether `import llama_cpp` can find the package; it is not imported, as that loads the library."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return False


def thread_count(configured: int) -> int:
    """The `llamacpp_threads` setting, or for 0 the CPUs this process may run on (its affinity mask,
    which container CPU sets and `taskset` narrow, unlike os.cpu_count())."""
    if configured < 0:
        raise SettingsError(f"setting llamacpp_threads={configured} must be 0 (one per usable CPU) or more")
    if configured:
        return configured
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_model(path: Path, context_window: int, threads: int, repacking: str = "auto") -> _LoadedModel:
    """The model at `path`, loaded once per process and settings; BackendError if it can't be.

    `repacking` is the `llamacpp_weight_repacking` setting: "auto", "on" or "off"."""
    key = (str(path.resolve()), context_window, threads, check_mode(repacking))
    with _loading:
        if key not in _loaded:
            llama = _new_llama(path, context_window, threads, repacking)
            _loaded[key] = _LoadedModel(llama, threading.Lock())
        return _loaded[key]


def _new_llama(path: Path, context_window: int, threads: int, repacking: str = "auto"):
    if not path.is_file():
        raise BackendError(f"no GGUF model file at {path}: {FETCH_HINT}")
    try:
        import llama_cpp
    except ImportError as error:
        raise BackendError(INSTALL_HINT) from error
    try:
        # Called under `_loading`, which keeps other loads out of weight_repacking's swap.
        with weight_repacking(repacking):
            return llama_cpp.Llama(model_path=str(path), n_ctx=context_window, n_threads=threads, verbose=False)
    except (ValueError, RuntimeError) as error:
        raise BackendError(f"llama.cpp could not load {path}: {error}") from error
