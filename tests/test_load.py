"""Many users: 20 concurrent conversations, 200 questions through the app's `ask` API, while
the index is updated twice underneath the running app. No question may fail.

Latency figures (p50/p95 per question, queueing included) are printed and written to
tests/artifacts/load.json.
"""
from __future__ import annotations

import json
import shutil
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import SEEDS
from gradio_client import Client

from rag.index import load_index, update_index
from rag.settings import Settings
from ui.app import serve

pytestmark = pytest.mark.slow

CONVERSATIONS = 20
QUESTIONS_EACH = 10
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OPENERS = [
    "What did the police say about lack of resources?",
    "What do the health personnel say about stigma?",
    "Hva mener brukerorganisasjonene om politiet?",
    "Hva sier helsepersonell om tid og ressurser?",
    "What is said about open drug scenes?",
]
FOLLOW_UPS = ["And the health personnel?", "And the police?", "What measures are proposed?",
              "Hva med kommunene?", "What about the user organisations?"]
NEW_DOCUMENT = """Ferjer i Lofoten

Ferja fra Bodø til Moskenes går klokka sju hver morgen gjennom hele vintersesongen.
"""


@pytest.fixture(scope="module")
def app_url(seed_index, tmp_path_factory):
    """The app over a private copy of the seed corpus and index (it is updated during the test)."""
    root = tmp_path_factory.mktemp("load")
    shutil.copytree(SEEDS, root / "corpus")
    shutil.copytree(seed_index.folder.parent, root / "index", symlinks=True)
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index")
    app = serve(settings, port=0, backend="extractive", block=False)
    try:
        yield app.local_url, settings
    finally:
        app.close()


def conversation(url: str, number: int) -> list[tuple[float, str | None]]:
    """One user's conversation: an opening question and follow-ups; (seconds, error) per question."""
    client = Client(url, verbose=False)
    results, conversation_id = [], ""
    for turn in range(QUESTIONS_EACH):
        question = OPENERS[number % len(OPENERS)] if turn == 0 else FOLLOW_UPS[(number + turn) % len(FOLLOW_UPS)]
        started = time.monotonic()
        try:
            answer = client.predict(question, conversation_id, api_name="/ask")
            conversation_id = answer["conversation_id"]
            error = None if answer["answer"].strip() and answer["question"] == question else f"bad answer {answer}"
        except Exception as failure:  # every failure counts: none is expected
            error = f"{type(failure).__name__}: {failure}"
        results.append((time.monotonic() - started, error))
    return results


def update_twice_while_answering(settings: Settings, embedder, done: threading.Event, log: list[str]) -> None:
    """Add a document, then change it: two new versions published while questions are in flight."""
    time.sleep(5)
    new = Path(settings.corpus_dir) / "lofoten.txt"
    new.write_text(NEW_DOCUMENT, encoding="utf-8")
    log.append(str(update_index(settings, embedder, progress=lambda message: None).added))
    new.write_text(NEW_DOCUMENT + "\nFerja tar også med sykler.\n", encoding="utf-8")
    log.append(str(update_index(settings, embedder, progress=lambda message: None).changed))
    done.set()


def test_20_conversations_200_questions_and_two_index_updates_without_an_error(app_url, embedder):
    url, settings = app_url
    updated, update_log = threading.Event(), []
    updater = threading.Thread(target=update_twice_while_answering, args=(settings, embedder, updated, update_log))
    started = time.monotonic()
    updater.start()
    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        results = [r for rs in pool.map(lambda n: conversation(url, n), range(CONVERSATIONS)) for r in rs]
    wall = time.monotonic() - started
    updated_during_load = updated.is_set()
    updater.join(timeout=300)
    errors = [error for _, error in results if error]
    latencies = sorted(seconds for seconds, _ in results)
    figures = {"conversations": CONVERSATIONS, "questions": len(results), "errors": len(errors),
               "p50_s": round(statistics.median(latencies), 2),
               "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
               "wall_s": round(wall, 1), "index_updates_during_load": len(update_log)}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=1))
    print(f"\nload: {figures}")
    assert errors == [], errors[:5]
    assert len(results) == CONVERSATIONS * QUESTIONS_EACH == 200
    assert updated_during_load and update_log == ["['lofoten']", "['lofoten']"]
    assert "lofoten" in load_index(settings.index_dir).documents  # the new version is published on disk
    # The app still answers from the index it loaded: swapping versions on disk took nothing from it.
    after = Client(url, verbose=False).predict(OPENERS[0], "", api_name="/ask")
    assert after["citations"] and all(c["doc_id"] != "lofoten" for c in after["citations"])
