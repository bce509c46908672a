"""Many users: 20 concurrent conversations with follow-ups through the app's `ask` API, while
the index is updated twice underneath the running app; once with a hosted backend (a local
OpenAI-compatible server that takes about a second per answer, like a hosted model) and once
with the extractive one.

Asserted: no question fails; every follow-up is rewritten from its own conversation's
history (each conversation asks about its own topic, so cross-talk would show as another
topic in the search query); p95 latency under load stays within a ratio of the single-user
latency measured in the same run; and after the updates the app answers from the new index
version. A one-at-a-time queue gives a ratio of about 20 with either backend. The hosted
backend waits on the network, so answering several at once must bring it far lower; the
extractive one is CPU-bound on two cores, so it may only not be worse than a fair share.
Figures go to tests/artifacts/load-<backend>.json.
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
from fault_server import FaultServer
from gradio_client import Client

from rag.index import load_index, update_index
from rag.settings import Settings
from ui.serving import serve

pytestmark = pytest.mark.slow

CONVERSATIONS = 20
QUESTIONS_EACH = 6
# One answer at a time gives about 20x with either backend (measured 23.6 for the hosted one).
MAX_P95_RATIO = {"openai": 12, "extractive": 1.5 * CONVERSATIONS}
# The hosted model streams a word every 0.1 s.
WORD_SECONDS = 0.1
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SUBJECTS = ["the police", "the health personnel", "the user organisations"]
TOPICS = ["lack of resources", "stigma", "open drug scenes", "the drug reform", "trust", "time pressure",
          "young people", "cannabis", "fines", "treatment", "housing", "the municipalities", "overdoses",
          "prison", "Portugal", "discrimination", "harm reduction", "cooperation", "the courts", "training"]
NEW_DOCUMENT = """Ferjer i Lofoten

Ferja fra Bodø til Moskenes går klokka sju hver morgen gjennom hele vintersesongen.
"""


@pytest.fixture(params=["openai", "extractive"])
def app_url(request, seed_index, tmp_path_factory):
    """The app over a private copy of the seed corpus and index (it is updated during the test)."""
    root = tmp_path_factory.mktemp("load")
    shutil.copytree(SEEDS, root / "corpus")
    shutil.copytree(seed_index.folder.parent, root / "index", symlinks=True)
    with FaultServer(["echo"], delta_interval=WORD_SECONDS) as model_server:
        settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index",
                                 openai_base_url=model_server.base_url, llm_max_answer_tokens=100)
        app = serve(settings, port=0, backend=request.param, block=False)
        try:
            yield app.local_url, settings, request.param
        finally:
            app.close()


def script(number: int) -> list[str]:
    """Conversation `number`'s questions: an opener about its own topic, then follow-ups."""
    topic = TOPICS[number % len(TOPICS)]
    subjects = [SUBJECTS[(number + turn) % len(SUBJECTS)] for turn in range(QUESTIONS_EACH)]
    return [f"What did {subjects[0]} say about {topic}?"] + [f"And {subject}?" for subject in subjects[1:]]


def conversation(url: str, number: int) -> list[tuple[float, str | None]]:
    """One user's conversation; (seconds, error) per question, an error also for a follow-up
    searched without its conversation's topic or with another conversation's."""
    client = Client(url, verbose=False)
    results, conversation_id, topic = [], "", TOPICS[number % len(TOPICS)]
    for question in script(number):
        started = time.monotonic()
        try:
            answer = client.predict(question, conversation_id, api_name="/ask")
            conversation_id = answer["conversation_id"]
            error = None if answer["answer"].strip() and answer["question"] == question else f"bad answer {answer}"
            query = answer["search_query"].lower()
            foreign = [other for other in TOPICS if other != topic and other.lower() in query]
            if topic.lower() not in query or foreign:
                error = f"cross-talk: {question!r} of the conversation on {topic!r} searched as {query!r}"
        except Exception as failure:  # every failure counts: none is expected
            error = f"{type(failure).__name__}: {failure}"
        results.append((time.monotonic() - started, error))
    return results


def update_twice_while_answering(settings: Settings, embedder, done: threading.Event, log: list[str]) -> None:
    """Add a document, then change it: two new versions published while questions are in flight."""
    time.sleep(3)
    new = Path(settings.corpus_dir) / "lofoten.txt"
    new.write_text(NEW_DOCUMENT, encoding="utf-8")
    log.append(str(update_index(settings, embedder, progress=lambda message: None).added))
    new.write_text(NEW_DOCUMENT + "\nFerja tar også med sykler.\n", encoding="utf-8")
    log.append(str(update_index(settings, embedder, progress=lambda message: None).changed))
    done.set()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def test_20_concurrent_conversations_no_errors_no_cross_talk_and_bounded_p95(app_url, embedder):
    url, settings, backend = app_url
    conversation(url, 0)  # warm-up: first-use costs are not latency
    alone = conversation(url, 1)
    single = [seconds for seconds, error in alone if not error]
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
    latencies = [seconds for seconds, _ in results]
    figures = {"conversations": CONVERSATIONS, "questions": len(results), "errors": len(errors),
               "single_user_p50_s": round(statistics.median(single), 3),
               "p50_s": round(statistics.median(latencies), 2), "p95_s": round(percentile(latencies, 0.95), 2),
               "wall_s": round(wall, 1), "index_updates_during_load": len(update_log),
               "answer_concurrency": settings.answer_concurrency,
               "first_errors": [error for _, error in alone if error][:3] + errors[:3]}
    figures["p95_ratio"] = round(figures["p95_s"] / statistics.median(single), 1)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"load-{backend}.json").write_text(json.dumps(figures, indent=1))
    print(f"\nload ({backend}): {figures}")
    assert len(single) == QUESTIONS_EACH, figures
    assert errors == [], errors[:5]
    assert len(results) == CONVERSATIONS * QUESTIONS_EACH
    assert figures["p95_ratio"] <= MAX_P95_RATIO[backend], figures
    assert updated_during_load and update_log == ["['lofoten']", "['lofoten']"]
    assert "lofoten" in load_index(settings.index_dir).documents  # the new version is published on disk
    # The running app follows the published version: the new document answers.
    after = Client(url, verbose=False).predict("Når går ferja fra Bodø til Moskenes?", "", api_name="/ask")
    assert after["citations"] and after["citations"][0]["doc_id"] == "lofoten", after["answer"]
