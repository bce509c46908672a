# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv/ if missing and install the project with the pinned versions.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast bench models clean-venv

$(STAMP): pyproject.toml requirements.lock requirements-llm.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	# llama-cpp-python has no wheel on PyPI: this compiles llama.cpp (about 7 min on 2 cores, once).
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install --quiet -c requirements.lock -c requirements-llm.lock -e '.[dev,bench,llm,milvus]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium: Playwright's own browser download does not work offline.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

run: $(STAMP)
	$(VENV)/bin/rag serve

test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest

test-fast: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest -m "not slow"

clean-venv:
	rm -rf $(VENV)

bench: $(STAMP)
	$(PY) scripts/bench.py

models: $(STAMP)  # the 1.1 GB Qwen2.5-Coder-1.5B GGUF for `--backend llamacpp`
	$(PY) scripts/fetch_gguf.py

.PHONY: bench-scale
bench-scale: $(STAMP)  # FAISS exact / IVF / HNSW and Milvus Lite IVF at 10k-1M vectors (about 20 min on 2 cores)
	$(PY) scripts/bench_scale.py
