"""Crash safety: SIGKILL a real `rag index build` / `rag index update` at random moments.

After every kill the index must load and answer from either the old or the new corpus
state, and a following update must repair it to what a clean build gives. One small
corpus is reused; each run is killed at a random moment within its measured length
(after the first quarter, which is only Python and torch starting up).
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import OPED, REPO, SEEDS
from documents import write_html, write_markdown

from rag.answer import Answerer
from rag.index import Index, build_index, load_index, update_index
from rag.index.files import current_version
from rag.retrieval import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow

KILLS = 20
QUESTION = "Hva mener politiet om bortvisning?"
CHANGED_MARKDOWN = "# Rusreform\n\nPolitiet mener ressursene er altfor små, og ber om flere stillinger.\n"


def set_state(corpus: Path, state: str) -> None:
    """State "a": the op-ed and a Markdown note; state "b": the note changed and an HTML report added."""
    shutil.copy(SEEDS / f"{OPED}.txt", corpus / f"{OPED}.txt")
    (corpus / "rapport.html").unlink(missing_ok=True)
    write_markdown(corpus / "reform.md")
    if state == "b":
        (corpus / "reform.md").write_text(CHANGED_MARKDOWN, encoding="utf-8")
        write_html(corpus / "rapport.html")


def content_hashes(index: Index) -> dict[str, str]:
    return {doc_id: info["content_hash"] for doc_id, info in index.manifest["documents"].items()}


def vectors_by_chunk(index: Index) -> dict[str, np.ndarray]:
    return {chunk.id: index.vectors[row] for row, chunk in enumerate(index.chunks)}


def assert_same_index(repaired: Index, clean: Index) -> None:
    """Same documents, chunks, vectors, sentence windows and lexical vocabulary as a clean build."""
    assert content_hashes(repaired) == content_hashes(clean)
    assert {d: doc.text for d, doc in repaired.documents.items()} == {d: doc.text for d, doc in clean.documents.items()}
    assert sorted(c.id for c in repaired.chunks) == sorted(c.id for c in clean.chunks)
    ours, theirs = vectors_by_chunk(repaired), vectors_by_chunk(clean)
    for chunk_id, vector in theirs.items():
        assert np.allclose(ours[chunk_id], vector, atol=1e-4), chunk_id
    assert len(repaired.windows.rows) == len(clean.windows.rows)
    assert set(repaired.lexical.vocabulary) == set(clean.lexical.vocabulary)


def rag_command(action: str, settings: Settings) -> list[str]:
    return [sys.executable, "-m", "rag", "index", action, "--corpus", str(settings.corpus_dir),
            "--index", str(settings.index_dir)]


def run_length(action: str, settings: Settings) -> float:
    """Seconds a complete run of `rag index <action>` takes here."""
    started = time.monotonic()
    subprocess.run(rag_command(action, settings), check=True, cwd=REPO, capture_output=True, timeout=600)
    return time.monotonic() - started


def killed_run(action: str, settings: Settings, after: float) -> bool:
    """Start `rag index <action>` and SIGKILL it `after` seconds later; False if it finished first."""
    process = subprocess.Popen(rag_command(action, settings), cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=after)
        return False
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True


@pytest.fixture(scope="module")
def clean_builds(tmp_path_factory, embedder) -> dict[str, Index]:
    """A clean in-process build of each corpus state, to compare repaired indexes against."""
    builds = {}
    for state in ("a", "b"):
        corpus = tmp_path_factory.mktemp(f"clean-{state}")
        set_state(corpus, state)
        settings = Settings.load(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp(f"clean-index-{state}"))
        build_index(settings, embedder, progress=lambda message: None)
        builds[state] = load_index(settings.index_dir)
    return builds


def test_killed_builds_and_updates_leave_a_working_index_that_update_repairs(tmp_path, embedder, clean_builds):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    set_state(corpus, "a")
    settings = Settings.load(corpus_dir=corpus, index_dir=index_dir)
    hashes = {state: content_hashes(build) for state, build in clean_builds.items()}
    lengths = {"build": run_length("build", settings)}
    set_state(corpus, "b")
    lengths["update"] = run_length("update", settings)
    rng = random.Random(8)
    kills, finished, state = 0, 0, "b"
    for attempt in range(KILLS * 2):
        if kills >= KILLS:
            break
        state = "a" if state == "b" else "b"
        set_state(corpus, state)
        action = ("build", "update")[attempt % 2]
        if killed_run(action, settings, rng.uniform(0.25, 1.05) * lengths[action]):
            kills += 1
        else:
            finished += 1
        survived = load_index(index_dir)  # never IndexCorrupt: old or new, complete
        assert content_hashes(survived) in (hashes["a"], hashes["b"]), f"kill {attempt}: a mixed index"
        answer = Answerer(settings, Retriever(survived, embedder), backend="extractive").ask(QUESTION)
        assert answer.citations and not answer.abstained, f"kill {attempt}: no answer"
        for citation in answer.citations:
            assert survived.documents[citation.doc_id].text[citation.start:citation.end] == citation.quote
        update_index(settings, embedder, progress=lambda message: None)
        assert_same_index(load_index(index_dir), clean_builds[state])
        assert not list(index_dir.glob(".building-*")), "an unfinished build was left behind"
    print(f"\n{kills} kills survived ({finished} runs finished first); run lengths "
          + ", ".join(f"{k} {v:.1f} s" for k, v in lengths.items()))
    assert kills >= KILLS
    assert current_version(index_dir).is_dir()
