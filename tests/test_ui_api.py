"""The app's answering side without a browser: the `ask` API through gradio_client against the
real app served in-process, and the settings panel's options as the engine applies them."""
from __future__ import annotations

import httpx
import pytest
from conftest import OPED, SEEDS
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, AuthenticationError

from rag.answer import Answerer
from rag.retrieval import Retriever
from rag.settings import Settings
from ui.conversation import Conversation
from ui.engine import AskOptions, Engine
from ui.serving import serve

ANSWER_KEYS = {"question", "answer", "language", "abstained", "backend", "citations", "uncited_sentences",
               "closest_matches", "notices", "search_query", "timings_ms", "conversation_id", "answer_mode",
               "sentences"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seed_settings(seed_index, tmp_path_factory):
    """Settings for the seeds over the session's already built seed index, conversations in a fresh folder."""
    return Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent,
                         data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def client(seed_settings):
    """A gradio_client Client of the app serving the seeds with the extractive backend."""
    app = serve(seed_settings, port=0, backend="extractive", block=False)
    yield Client(app.local_url, verbose=False)
    app.close()


def assert_exact_citations(result: dict, documents: dict) -> None:
    assert result["citations"], result
    for citation in result["citations"]:
        assert isinstance(citation["start"], int) and citation["start"] < citation["end"]
        assert documents[citation["doc_id"]].text[citation["start"]:citation["end"]] == citation["quote"]


def test_two_questions_in_one_conversation(client, seed_index):
    first = client.predict("What did the police say about lack of resources?", api_name="/ask")
    assert set(first) == ANSWER_KEYS
    assert not first["abstained"] and first["backend"] == "extractive"
    assert any("Politi" in heading for c in first["citations"] for heading in c["section_path"])
    assert_exact_citations(first, seed_index.documents)

    second = client.predict("And the health personnel?", first["conversation_id"], api_name="/ask")
    assert second["conversation_id"] == first["conversation_id"]
    assert second["question"] == "And the health personnel?"
    assert "health personnel" in second["search_query"].lower()
    assert any("Helsepersonell" in heading for c in second["citations"] for heading in c["section_path"])
    assert_exact_citations(second, seed_index.documents)


def test_a_new_conversation_without_id_and_an_unknown_id_is_an_error(client):
    fresh = client.predict("And the health personnel?", api_name="/ask")
    assert fresh["search_query"] == "And the health personnel?"  # no history: nothing to rewrite against
    with pytest.raises(AppError, match="Unknown conversation_id"):
        client.predict("And the police?", "no-such-conversation", api_name="/ask")


def test_only_ask_and_the_corpus_changes_are_exposed(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) == {"/ask", "/add_documents", "/remove_document"}


def test_basic_auth_from_the_environment(seed_settings, monkeypatch):
    monkeypatch.setenv("RAG_AUTH", "ana:s3cret")
    app = serve(seed_settings, port=0, backend="extractive", block=False)
    try:
        with pytest.raises(AuthenticationError):
            Client(app.local_url, verbose=False)
        authed = Client(app.local_url, auth=("ana", "s3cret"), verbose=False)
        assert authed.predict("What did the police say about lack of resources?", api_name="/ask")["citations"]
        for endpoint, data in (("add_documents", [[], False]), ("remove_document", ["anything"])):
            refused = httpx.post(f"{app.local_url}gradio_api/call/{endpoint}", json={"data": data}, timeout=10)
            assert refused.status_code == 401, (endpoint, refused.status_code)
    finally:
        app.close()


def test_each_user_reaches_only_their_own_conversations(seed_settings, monkeypatch):
    monkeypatch.setenv("RAG_AUTH", "ana:pw1,bob:pw2")
    app = serve(seed_settings, port=0, backend="extractive", block=False)
    try:
        ana = Client(app.local_url, auth=("ana", "pw1"), verbose=False)
        bob = Client(app.local_url, auth=("bob", "pw2"), verbose=False)
        anas = ana.predict("What did the police say about lack of resources?", api_name="/ask")["conversation_id"]
        with pytest.raises(AppError, match="Unknown conversation_id"):
            bob.predict("And the health personnel?", anas, api_name="/ask")
        follow_up = ana.predict("And the health personnel?", anas, api_name="/ask")
        assert follow_up["conversation_id"] == anas and "health personnel" in follow_up["search_query"].lower()
    finally:
        app.close()
    # The API's conversations are the saved ones: after a restart ana's conversation continues.
    app = serve(seed_settings, port=0, backend="extractive", block=False)
    try:
        ana = Client(app.local_url, auth=("ana", "pw1"), verbose=False)
        again = ana.predict("And the police?", anas, api_name="/ask")
        assert again["conversation_id"] == anas and "police" in again["search_query"].lower()
    finally:
        app.close()


def test_settings_panel_options_reach_the_answer(seed_settings, seed_index, embedder):
    engine = Engine(seed_settings, Answerer(seed_settings, Retriever(seed_index, embedder), backend="extractive"))
    question = "What did the police say about lack of resources?"
    only_oped = engine.ask(Conversation(), question, AskOptions(doc_ids=(OPED,)))
    assert only_oped.citations and {c.doc_id for c in only_oped.citations} == {OPED}
    norwegian = engine.ask(Conversation(), question, AskOptions(language="no", k=2))
    lead = norwegian.text.splitlines()[0]
    assert norwegian.language == "no" and lead.startswith("Politi (") and lead.endswith(" sier:"), lead
    assert {c.n for c in norwegian.citations} <= {1, 2}
    with pytest.raises(ValueError, match="unknown backend"):
        engine.answerer("no-such-backend")


LOFOTEN = "Ferjer i Lofoten\n\nFerja fra Bodø til Moskenes går klokka sju hver morgen gjennom hele vintersesongen.\n"
LOFOTEN_QUESTION = "Når går ferja fra Bodø til Moskenes?"


def test_app_reloads_a_new_index_generation(seed_index, embedder, tmp_path):
    """Item 4: `rag index build` in another terminal publishes a new version; the running app's
    next question is answered from it, without a restart, and its re-index sees nothing left to do."""
    import shutil

    from rag.index import update_index

    shutil.copytree(SEEDS, tmp_path / "corpus")
    shutil.copytree(seed_index.folder.parent, tmp_path / "index", symlinks=True)
    settings = Settings.load(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    engine = Engine(settings, Answerer(settings, Retriever(load_index_of(settings), embedder), backend="extractive"))
    before = engine.ask(Conversation(), LOFOTEN_QUESTION)
    assert all(c.doc_id != "lofoten" for c in before.citations)

    (tmp_path / "corpus" / "lofoten.txt").write_text(LOFOTEN, encoding="utf-8")
    # "Another terminal": its own embedder object, nothing shared with the engine.
    from rag.embedding import Embedder
    update_index(settings, Embedder(settings), progress=lambda message: None)

    after = engine.ask(Conversation(), LOFOTEN_QUESTION)
    assert after.citations and after.citations[0].doc_id == "lofoten", after.text
    assert "lofoten" in {d.id for d in engine.documents()}
    assert engine.status()["up_to_date"]
    assert "already up to date" in engine.reindex(progress=lambda message: None)


def load_index_of(settings: Settings):
    from rag.index import load_index

    return load_index(settings.index_dir)


class SlowSerialBackend:
    """A backend that answers one question at a time, as a local model does, taking a while."""

    name = "slow-serial"
    context_window = 8192
    serial = True
    running = 0
    most_at_once = 0
    hold = staticmethod(lambda: None)  # the test holds the first answer until the others queue

    def stream(self, prompt, max_tokens, timeout):
        import time

        cls = type(self)
        cls.hold()
        cls.running += 1
        cls.most_at_once = max(cls.most_at_once, cls.running)
        time.sleep(0.3)
        cls.running -= 1
        yield "The police describe a lack of resources."


def test_a_serial_backend_answers_one_at_a_time_and_shows_the_queue(seed_settings, seed_index, embedder):
    """Item 10: with several answers at once, a serial backend still runs one at a time; those
    waiting are told how many answers are ahead of theirs."""
    import threading
    import time

    from rag.answer.backends.registry import register, unregister
    from ui.turns import Queued

    register("slow-serial", lambda context: SlowSerialBackend())
    try:
        engine = Engine(seed_settings, Answerer(seed_settings, Retriever(seed_index, embedder), backend="extractive"))
        queued: list[list[int]] = [[] for _ in range(3)]

        held = threading.Event()

        def until_all_three_queued() -> None:
            # The first answer waits until the other two have joined the queue: otherwise a fast
            # first answer may finish before they join, and they wait for nothing.
            if held.is_set():
                return
            held.set()
            deadline = time.monotonic() + 60
            while len(engine._turn_queue("slow-serial")) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)

        SlowSerialBackend.hold = staticmethod(until_all_three_queued)

        def ask(slot: int) -> None:
            for event in engine.stream(Conversation(), "What did the police say about lack of resources?",
                                       AskOptions(backend="slow-serial")):
                if isinstance(event, Queued):
                    queued[slot].append(event.ahead)

        threads = [threading.Thread(target=ask, args=(slot,)) for slot in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert SlowSerialBackend.most_at_once == 1
        first, *waiting = sorted(max(places, default=0) for places in queued)
        assert first == 0 and all(place >= 1 for place in waiting), queued
    finally:
        SlowSerialBackend.hold = staticmethod(lambda: None)
        unregister("slow-serial")


GLACIER = """Breen ved Fjellheim

Fjellheim-breen smeltet 42 meter i 2023, mer enn noe år siden målingene startet i 1911.
"""
GLACIER_QUESTION = "Hvor mye smeltet Fjellheim-breen i 2023?"


@pytest.fixture
def private_app(seed_index, tmp_path):
    """(client, corpus folder, root) of an app over a private copy of the seed corpus and index."""
    import shutil

    root = tmp_path / "area"
    shutil.copytree(SEEDS, root / "corpus")
    shutil.copytree(seed_index.folder.parent, root / "index", symlinks=True)
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index")
    app = serve(settings, port=0, backend="extractive", block=False)
    try:
        yield Client(app.local_url, verbose=False), root / "corpus", root
    finally:
        app.close()


def files_outside(root, corpus) -> set[str]:
    """Files under `root` but not in the corpus folder or the index folder."""
    return {str(p) for p in root.rglob("*") if p.is_file() and not p.is_relative_to(corpus)
            and not p.is_relative_to(root / "index")}


def test_add_ask_and_remove_a_document_through_the_api(private_app, tmp_path):
    client, corpus, root = private_app
    before = files_outside(root, corpus)
    source = tmp_path / "fjellheim.txt"
    source.write_text(GLACIER, encoding="utf-8")

    added = client.predict([handle_file(source)], api_name="/add_documents")
    assert added["files"] == [{"name": "fjellheim.txt", "accepted": True, "reason": "", "stored_as": "fjellheim.txt",
                               "replaced": False}]
    assert "1 added" in added["index"]
    assert (corpus / "fjellheim.txt").read_text(encoding="utf-8") == GLACIER
    answer = client.predict(GLACIER_QUESTION, api_name="/ask")
    assert answer["citations"] and answer["citations"][0]["doc_id"] == "fjellheim", answer["answer"]

    again = client.predict([handle_file(source)], api_name="/add_documents")
    assert not again["files"][0]["accepted"] and "already in the corpus" in again["files"][0]["reason"]
    replaced = client.predict([handle_file(source)], True, api_name="/add_documents")
    assert replaced["files"][0]["replaced"] and "already up to date" in replaced["index"]

    removed = client.predict("fjellheim", api_name="/remove_document")
    assert removed["removed"] == "fjellheim" and "1 removed" in removed["index"]
    assert not (corpus / "fjellheim.txt").exists()
    answer = client.predict(GLACIER_QUESTION, api_name="/ask")
    assert all(c["doc_id"] != "fjellheim" for c in answer["citations"])
    with pytest.raises(AppError, match="no document with id"):
        client.predict("fjellheim", api_name="/remove_document")
    assert files_outside(root, corpus) == before


def test_api_refuses_bad_files_and_server_paths(private_app, tmp_path):
    client, corpus, root = private_app
    before = sorted(p.name for p in corpus.iterdir())
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    fake = tmp_path / "report.pdf"
    fake.write_text("Not a PDF at all.", encoding="utf-8")
    server_file = {"path": str(SEEDS / next(p.name for p in SEEDS.iterdir())), "orig_name": "stolen.txt"}
    result = client.predict([handle_file(empty), handle_file(fake), server_file], api_name="/add_documents")
    reasons = {item["name"]: item["reason"] for item in result["files"]}
    assert reasons == {"stolen.txt": "not a file uploaded to this app", "empty.txt": "the file is empty (0 bytes)",
                       "report.pdf": "the content is not a PDF (no %PDF- header)"}
    assert result["index"] == "Nothing was added; the index is unchanged."
    assert sorted(p.name for p in corpus.iterdir()) == before
