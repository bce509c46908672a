# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv/ if missing and install the project with the pinned versions, in steps:
# `make run` installs only what serving the chat needs; `make test` adds the rest, so after
# `make run` it installs only what is missing. Each stamp file marks a finished step.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_INSTALL := $(PY) -m pip install --quiet -c requirements.lock
SERVE_STAMP := $(VENV)/.serve-stamp
LLM_STAMP := $(VENV)/.llm-stamp
TEST_STAMP := $(VENV)/.test-stamp

.PHONY: run test test-fast bench bench-scale models clean-venv

# Serving with the default (extractive) backend: no dev tools, no Milvus client, no llama.cpp.
$(SERVE_STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
	$(PIP_INSTALL) --no-compile torch==2.13.0
	# Not byte-compiled here: compiling every file of torch, transformers, sympy... took half of
	# this step, and serving imports about a third of them (`run` writes their bytecode).
	$(PIP_INSTALL) --no-compile -e .
	touch $@

# The local-LLM backend. llama-cpp-python has no wheel on PyPI: this compiles llama.cpp
# (about 7 min on 2 cores, once).
$(LLM_STAMP): $(SERVE_STAMP) requirements-llm.lock
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP_INSTALL) -c requirements-llm.lock -e '.[llm]'
	touch $@

# Test tools, the Milvus client and server, and the benchmark's plotting: everything.
$(TEST_STAMP): $(LLM_STAMP)
	$(PIP_INSTALL) -c requirements-llm.lock -e '.[dev,bench,llm,milvus]'
	# The bytecode the serving step left out, so test processes start fast even where
	# PYTHONDONTWRITEBYTECODE is set. Files that do not compile are skipped, as pip skips them
	# (torch ships a few Python 3.12-only test files).
	$(PY) -m compileall -qq -j 0 $(VENV)/lib || true
	touch $@

# The browser tests drive Debian's Chromium: Playwright's own browser download does not work offline.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The app writes the bytecode of the modules it imports (once), even where PYTHONDONTWRITEBYTECODE is set.
run: $(SERVE_STAMP)
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/rag serve

test: $(TEST_STAMP) $(CHROMIUM)
	$(PY) -m pytest

test-fast: $(TEST_STAMP) $(CHROMIUM)
	$(PY) -m pytest -m "not slow"

clean-venv:
	rm -rf $(VENV)

bench: $(TEST_STAMP)
	$(PY) scripts/bench.py

models: $(LLM_STAMP)  # llama-cpp-python and the 1.1 GB Qwen2.5-Coder-1.5B GGUF for `--backend llamacpp`
	$(PY) scripts/fetch_gguf.py

bench-scale: $(TEST_STAMP)  # FAISS exact / IVF / HNSW and Milvus Lite IVF at 10k-1M vectors (about 20 min on 2 cores)
	$(PY) scripts/bench_scale.py
