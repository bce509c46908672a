"""Crash safety: SIGKILL a real `rag index build` / `rag index update`, at random and aimed.

After every kill the index must load and answer from either the old or the new corpus
state, and a following update must repair it to what a clean build gives. One small
corpus is reused. Random kills land within a run's measured length (after the first
quarter, which is only Python and torch starting up), mostly while it embeds; aimed kills
stop the run at a step of each write phase (`rag.index.phases`) and kill it there.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from pathlib import Path

import numpy as np
import pytest
from conftest import OPED, REPO, SEEDS, same_vectors
from documents import write_html, write_markdown

from rag.answer import Answerer
from rag.index import Index, build_index, load_index, update_index
from rag.index.files import current_version
from rag.retrieval import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow

KILLS = 8
# The aimed kills' protocol, spelled out here rather than imported: the test is the spec.
HOOK = "RAG_BUILD_PHASE_HOOK"
PHASES = ("encode-checkpoint", "write-tables", "write-vectors", "write-lexical", "write-manifest", "swap",
          "cleanup")
PUBLISHED_IN = "cleanup"  # the first phase in which `current` names the new version
KILLS_PER_PHASE = 3
QUESTION = "Hva mener politiet om bortvisning?"
CHANGED_MARKDOWN = "# Rusreform\n\nPolitiet mener ressursene er altfor små, og ber om flere stillinger.\n"


def set_state(corpus: Path, state: str, oped: bool = True) -> None:
    """State "a": the op-ed and a Markdown note; state "b": the note changed and an HTML report added.

    Without `oped` (long to embed), only the small note and report."""
    if oped:
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
        assert same_vectors(ours[chunk_id], vector), chunk_id
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


def phase_run(action: str, settings: Settings, hook: Path,
              stop: tuple[str, int] | None = None) -> tuple[list[str], bool]:
    """Run `rag index <action>` reporting its write phases to `hook`; with `stop` = (phase, n), SIGKILL
    it while it waits at the n-th step of that phase. The phases it reached, and whether it was killed."""
    go = Path(f"{hook}.go")
    hook.write_text("")
    go.unlink(missing_ok=True)
    if stop:
        go.write_bytes(b"")  # its presence makes every step wait for a byte
    process = subprocess.Popen(rag_command(action, settings), cwd=REPO, env={**os.environ, HOOK: str(hook)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    phases: list[str] = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        exited = process.poll() is not None  # before reading, so that no report is missed
        for phase in hook.read_text(encoding="utf-8").split("\n")[len(phases):-1]:
            phases.append(phase)
            if (phase, phases.count(phase)) == stop:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return phases, True
            if stop:
                with open(go, "ab") as handle:
                    handle.write(b".")
        if exited:
            assert process.returncode == 0, f"rag index {action} failed"
            return phases, False
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"rag index {action} did not finish in 600 s")


def assert_update_repairs(settings: Settings, embedder, clean: Index) -> None:
    """`rag index update` makes the index equal to a clean build, leaving nothing unfinished behind
    and keeping the version that was current (readers may hold it) until the next swap."""
    index_dir = settings.index_dir
    before = current_version(index_dir)
    update_index(settings, embedder, progress=lambda message: None)
    assert_same_index(load_index(index_dir), clean)
    assert not [*index_dir.glob(".building-*"), *index_dir.glob(".current-*")], "an unfinished build was left behind"
    assert not (index_dir / ".embedding-checkpoint").exists(), "embedding shards were left behind"
    assert before.is_dir(), f"{before.name}, current before the update, was deleted by it"
    if current_version(index_dir) != before:
        assert len(list(index_dir.glob("v-*"))) <= 2, "more than the new and the previous version kept"


def clean_build(tmp_path_factory, embedder, state: str, oped: bool) -> Index:
    """A clean in-process build of a corpus state, to compare repaired indexes against."""
    corpus = tmp_path_factory.mktemp(f"clean-{state}")
    set_state(corpus, state, oped)
    settings = Settings.load(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp(f"clean-index-{state}"))
    build_index(settings, embedder, progress=lambda message: None)
    return load_index(settings.index_dir)


@pytest.fixture(scope="module")
def clean_builds(tmp_path_factory, embedder) -> dict[str, Index]:
    return {state: clean_build(tmp_path_factory, embedder, state, oped=True) for state in ("a", "b")}


@pytest.fixture(scope="module")
def small_clean_builds(tmp_path_factory, embedder) -> dict[str, Index]:
    return {state: clean_build(tmp_path_factory, embedder, state, oped=False) for state in ("a", "b")}


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
        assert_update_repairs(settings, embedder, clean_builds[state])
    print(f"\n{kills} kills survived ({finished} runs finished first); run lengths "
          + ", ".join(f"{k} {v:.1f} s" for k, v in lengths.items()))
    assert kills >= KILLS
    assert current_version(index_dir).is_dir()


def test_kills_aimed_at_every_write_phase(tmp_path, embedder, small_clean_builds):
    """Each write phase is hit by KILLS_PER_PHASE kills, at its successive steps, in builds and updates;
    each leaves exactly the old index (or the new one, once swapped), and an update repairs it."""
    corpus, index_dir, hook = tmp_path / "corpus", tmp_path / "index", tmp_path / "phases"
    corpus.mkdir()
    settings = Settings.load(corpus_dir=corpus, index_dir=index_dir)
    set_state(corpus, "a", oped=False)
    steps = Counter(phase_run("build", settings, hook)[0])  # an update goes through the same steps
    for phase in PHASES:
        assert steps[phase], f"phase {phase} hit 0 times: a full build never reported it"
    targets = [(phase, kill) for kill in range(KILLS_PER_PHASE) for phase in PHASES]
    queue, hits, state, started = deque(targets), Counter(), "a", time.monotonic()
    for attempt in range(2 * len(targets)):  # a target missed (the run finished first) is tried again
        if not queue:
            break
        phase, kill = queue.popleft()
        old, state = state, "a" if state == "b" else "b"
        set_state(corpus, state, oped=False)
        action = ("build", "update")[(kill + PHASES.index(phase)) % 2]
        step = kill % steps[phase] + 1
        killed = phase_run(action, settings, hook, (phase, step))[1]
        hits[phase] += killed
        if not killed:
            queue.append((phase, kill))
        swapped = not killed or PHASES.index(phase) >= PHASES.index(PUBLISHED_IN)
        expected = state if swapped else old
        survived = load_index(index_dir)  # never IndexCorrupt
        where = f"attempt {attempt}, {action} {'killed in ' + phase if killed else 'finished'} (step {step})"
        assert content_hashes(survived) == content_hashes(small_clean_builds[expected]), \
            f"{where}: not exactly the {'new' if swapped else 'old'} index"
        assert_same_index(survived, small_clean_builds[expected])
        assert_update_repairs(settings, embedder, small_clean_builds[state])
    print(f"\naimed kills per phase: {dict(hits)} in {time.monotonic() - started:.0f} s; steps per phase: "
          + str(dict(steps)))
    for phase in PHASES:
        assert hits[phase] >= KILLS_PER_PHASE, f"phase {phase} hit {hits[phase]} times"
