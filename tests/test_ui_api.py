"""The app's answering side without a browser: the `ask` API through gradio_client against the
real app served in-process, and the settings panel's options as the engine applies them."""
from __future__ import annotations

import pytest
from conftest import OPED, SEEDS
from gradio_client import Client
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


def test_only_ask_is_exposed(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) == {"/ask"}


def test_basic_auth_from_the_environment(seed_settings, monkeypatch):
    monkeypatch.setenv("RAG_AUTH", "ana:s3cret")
    app = serve(seed_settings, port=0, backend="extractive", block=False)
    try:
        with pytest.raises(AuthenticationError):
            Client(app.local_url, verbose=False)
        authed = Client(app.local_url, auth=("ana", "s3cret"), verbose=False)
        assert authed.predict("What did the police say about lack of resources?", api_name="/ask")["citations"]
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
