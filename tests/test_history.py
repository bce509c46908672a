"""Saved conversations (ui.history): SQLite, newest first, per owner, reopened with their history."""
from __future__ import annotations

import stat

import pytest

from rag.settings import Settings
from rag.types import Answer, AnswerSentence, Chunk, Citation, Document
from ui.conversation import Conversation
from ui.history import HistoryStore, HistoryUnavailable, data_folder, open_history

DOC = Document("d1", "Report", "report.txt", "Intro.\n\nThe police lack resources. Health staff are tired.")


def answer(question: str, search_query: str = "") -> Answer:
    quote = "The police lack resources."
    start = DOC.text.index(quote)
    citation = Citation(1, "d1#0", "d1", "Report", ("Report", "Police"), quote, start, start + len(quote))
    chunk = Chunk("d1#0", "d1", "report.txt", "Report", ("Report",), DOC.text[:6], 0, 6, 2)
    return Answer(question, f"They lack resources [1]. ({question})", "en", False, "extractive", [citation],
                  ["Uncited."], [chunk], ["a notice"], search_query or question, {"retrieve": 1.234},
                  [AnswerSentence("They lack resources [1].", (1,))], "evidence")


def conversation_of(*questions: str) -> Conversation:
    conversation = Conversation()
    for question in questions:
        conversation.add(answer(question), {"d1": DOC})
    return conversation


def resolve(doc_id: str) -> Document | None:
    return {"d1": DOC}.get(doc_id)


def test_answer_round_trips_through_json():
    original = answer("What about the police?", "police resources")
    assert Answer.from_json(original.to_json()) == Answer.from_json(Answer.from_json(original.to_json()).to_json())
    again = Answer.from_json(original.to_json())
    assert again.citations == original.citations and again.sentences == original.sentences
    assert again.closest == original.closest and again.search_query == "police resources"
    assert again.to_json() == original.to_json()
    assert Citation.from_json(original.citations[0].to_json()) == original.citations[0]
    assert AnswerSentence.from_json(original.sentences[0].to_json()) == original.sentences[0]


def test_saved_conversations_are_listed_newest_first_with_their_first_question(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    older, newer = conversation_of("First question?"), conversation_of("  Second\nquestion?  ")
    store.save("", older)
    store.save("", newer)
    assert [(c.id, c.title) for c in store.list("")] == [(newer.id, "Second question?"), (older.id, "First question?")]
    older.add(answer("A follow-up?"), {"d1": DOC})
    store.save("", older)  # answered last: now the newest
    assert [c.id for c in store.list("")] == [older.id, newer.id]
    assert store.list("")[0].title == "First question?"


def test_a_reopened_conversation_keeps_its_turns_and_history_after_reopening_the_file(tmp_path):
    path = tmp_path / "history.sqlite3"
    original = conversation_of("What about the police?", "And the health personnel?")
    HistoryStore(path).save("", original)
    reopened = HistoryStore(path).load("", original.id, resolve)
    assert reopened.id == original.id
    assert [a.to_json() for a in reopened.answers] == [a.to_json() for a in original.answers]
    assert reopened.history() == original.history()
    assert reopened.turns[0].documents == {"d1": DOC}


def test_a_document_gone_or_changed_since_is_left_out_but_its_quotes_stay(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    original = conversation_of("What about the police?")
    store.save("", original)
    assert store.load("", original.id, lambda doc_id: None).turns[0].documents == {}
    changed = Document("d1", "Report", "report.txt", "Rewritten entirely, nothing where the quote was.")
    reopened = store.load("", original.id, lambda doc_id: changed)
    assert reopened.turns[0].documents == {}
    assert reopened.answers[0].citations[0].quote == "The police lack resources."


def test_rename_and_delete(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    kept, dropped = conversation_of("Kept?"), conversation_of("Dropped?")
    store.save("", kept)
    store.save("", dropped)
    assert store.rename("", kept.id, "  Police resources  ")
    assert store.delete("", dropped.id)
    assert [(c.id, c.title) for c in store.list("")] == [(kept.id, "Police resources")]
    assert store.load("", dropped.id, resolve) is None
    assert not store.rename("", dropped.id, "x") and not store.delete("", dropped.id)
    store.save("", kept)
    assert store.list("")[0].title == "Police resources"  # a renamed title is not overwritten


def test_each_owner_sees_only_their_own_conversations(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    anas, bobs = conversation_of("Ana asks?"), conversation_of("Bob asks?")
    store.save("ana", anas)
    store.save("bob", bobs)
    assert [c.id for c in store.list("ana")] == [anas.id]
    assert [c.id for c in store.list("bob")] == [bobs.id]
    assert store.list("") == []
    assert store.load("bob", anas.id, resolve) is None
    assert not store.rename("bob", anas.id, "mine now") and not store.delete("bob", anas.id)
    with pytest.raises(KeyError):
        store.save("bob", anas)  # bob cannot add turns to ana's conversation
    assert store.list("ana")[0].title == "Ana asks?"
    assert len(store.load("ana", anas.id, resolve).turns) == 1


def test_the_data_folder_is_private_and_next_to_the_index_by_default(tmp_path):
    settings = Settings.load(index_dir=tmp_path / "index")
    assert data_folder(settings) == tmp_path / "rag-data"
    assert data_folder(Settings.load(index_dir=tmp_path / "index", data_dir=tmp_path / "elsewhere")) == \
        tmp_path / "elsewhere"
    history, problem = open_history(settings)
    assert problem is None and history.path.parent == tmp_path / "rag-data"
    assert stat.S_IMODE((tmp_path / "rag-data").stat().st_mode) == 0o700


def test_a_corrupt_database_is_a_clear_error_and_the_app_falls_back_to_memory(tmp_path, capsys):
    path = tmp_path / "rag-data" / "history.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryUnavailable, match=str(path)):
        HistoryStore(path)
    history, problem = open_history(Settings.load(index_dir=tmp_path / "index"))
    assert str(path) in problem and "not saved" in problem and "Move it away" in problem
    assert problem in capsys.readouterr().err  # also told to whoever started the app
    conversation = conversation_of("Still answered?")
    history.save("", conversation)  # kept for this run only
    assert [c.id for c in history.list("")] == [conversation.id]
    assert path.read_bytes() == b"this is not a database" * 100  # left for the user to inspect
