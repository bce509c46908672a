"""Fast tests of the web app's pieces: escaping, highlighting, export, conversations, safe serving."""
from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from markdown_it import MarkdownIt

import ui.briefing_tab
from rag.briefing.groups import Group
from rag.briefing.writer import Briefing, Perspective, Point
from rag.settings import Settings, SettingsError
from rag.types import Answer, Chunk, Citation, Document, Section
from ui.briefing_tab import write_briefing
from ui.conversation import Conversation
from ui.corpus_view import corpus_html
from ui.markdown_export import conversation_markdown
from ui.render import (
    SourceRef,
    answer_html,
    document_html,
    esc,
    paragraph_bounds,
    question_html,
    quote_paragraphs,
    source_document_html,
    sources_html,
    streaming_html,
)
from ui.scratch import ScratchFolder
from ui.serving import auth_from_env, check_bind, is_loopback, serve

HOSTILE = '<script>alert(1)</script> <img src=x onerror=alert(1)> "quoted" \' ${alert(1)}'
TAG = re.compile(r"<\s*(script|img|iframe|svg)\b", re.IGNORECASE)


def hostile_document() -> Document:
    """A document whose title, headings and text all carry markup."""
    title = f"Report {HOSTILE}"
    heading = f"Findings {HOSTILE}"
    text = (f"{title}\n\n{heading}\n\nFirst paragraph.\n\n"
            f"The budget doubled {HOSTILE} in 2023. Crews work nights.\n\nLast.")
    heading_start = text.index(heading)
    body_start = heading_start + len(heading) + 2
    sections = [Section((title,), 0, len(text), len(title) + 2, heading_start),
                Section((title, heading), heading_start, len(text), body_start, len(text))]
    return Document("hostile", title, "hostile.txt", text, sections)


def citation_of(document: Document, quote: str, n: int = 1) -> Citation:
    """A citation of `quote` (which must occur in the document), as the library resolves it."""
    start = document.text.index(quote)
    return Citation(n, "chunk1", document.id, document.title, document.sections[-1].path, quote,
                    start, start + len(quote))


def hostile_answer(document: Document) -> Answer:
    quote = f"The budget doubled {HOSTILE} in 2023."
    return Answer(f"What about {HOSTILE}?", f"It doubled {HOSTILE}. [1] Nobody knows why {HOSTILE}.", "en",
                  False, "extractive", [citation_of(document, quote)], [f"Nobody knows why {HOSTILE}."],
                  notices=[f"The openai backend failed ({HOSTILE})"], search_query="budget")


def test_rendering_escapes_hostile_text_everywhere():
    document = hostile_document()
    answer = hostile_answer(document)
    chunk = Chunk("c1", document.id, document.source, document.title, document.sections[-1].path,
                  document.text[60:120], 60, 120, 20)
    abstained = Answer("q", f"No answer {HOSTILE}", "en", True, "extractive", closest=[chunk])
    renderings = {
        "question": question_html(HOSTILE),
        "streaming": streaming_html(answer.text),
        "answer": answer_html(answer, 0),
        "sources": sources_html(answer, 0, {document.id: document}),
        "closest": sources_html(abstained, 1, {document.id: document}),
        "document": document_html(document, [(answer.citations[0].start, answer.citations[0].end)], "[1]"),
        "corpus": corpus_html([document], {document.id: 1}, {"ok": False, "error": HOSTILE}),
    }
    for name, rendered in renderings.items():
        assert not TAG.search(rendered), name
        assert esc("<script>alert(1)</script>") in rendered, name
        assert "onerror=alert(1)&gt;" in rendered, name


def test_quote_is_marked_exactly_within_its_paragraph():
    document = hostile_document()
    citation = hostile_answer(document).citations[0]
    [paragraph] = quote_paragraphs(document.text, [(citation.start, citation.end)])
    start, end = paragraph_bounds(document.text, citation.start, citation.end)
    assert document.text[start:end] == f"The budget doubled {HOSTILE} in 2023. Crews work nights."
    assert paragraph == (esc(document.text[start:citation.start]) + "<mark>" + esc(citation.quote) + "</mark>"
                         + esc(document.text[citation.end:end]))
    assert html.unescape(re.search(r"<mark>(.*?)</mark>", paragraph).group(1)) == citation.quote


def test_quote_paragraph_in_a_seed_document(seed_documents):
    document = next(d for d in seed_documents.values() if "Deltakerne mener at politiets" in d.text)
    quote = "Deltakerne mener at politiets tilgang på ressurser påvirker"
    start = document.text.index(quote)
    [paragraph] = quote_paragraphs(document.text, [(start, start + len(quote))])
    before, marked, after = re.match(r"(.*)<mark>(.*)</mark>(.*)", paragraph, re.DOTALL).groups()
    assert marked == esc(quote)
    assert "\n\n" not in html.unescape(before + after)  # one paragraph, nothing beyond it
    assert html.unescape(after).startswith(document.text[start + len(quote):start + len(quote) + 20])


def test_answer_links_markers_and_marks_uncited_sentences_and_notices():
    document = hostile_document()
    rendered = answer_html(hostile_answer(document), 3)
    assert rendered.count('href="#src-3-cite-1"') == 1
    assert re.search(r'<span class="rag-uncited"[^>]*>Nobody knows why .*?</span>', rendered)
    assert "(no source)" in rendered
    assert 'class="rag-notice"' in rendered and "The openai backend failed" in rendered


def test_a_marker_shows_on_hover_where_its_source_stands_and_what_it_quotes():
    document = hostile_document()
    answer = hostile_answer(document)
    long_quote = replace(answer.citations[0], n=2, quote="Crews work nights. " * 30)
    answer = replace(answer, text=answer.text + " More [2].", citations=[*answer.citations, long_quote])
    titles = [html.unescape(t) for t in re.findall(r'<a class="rag-cite"[^>]*title="([^"]*)"', answer_html(answer, 0))]
    citation = answer.citations[0]
    assert titles[0] == f"[1] {document.title} › {citation.section_path[-1]}\n«{citation.quote}»"
    quoted = titles[1].split("\n", 1)[1]
    assert quoted.endswith(" …»") and len(quoted) < 320  # a long quote is cut, the source panel has it all


def test_sources_show_breadcrumbs_and_closest_matches_are_labelled():
    document = hostile_document()
    sources = sources_html(hostile_answer(document), 0, {document.id: document})
    assert "Findings" in sources and 'href="#src-0-cite-1"' in sources
    chunk = Chunk("c1", document.id, document.source, document.title, document.sections[-1].path,
                  document.text[60:120], 60, 120, 20)
    closest = sources_html(Answer("q", "none", "en", True, "extractive", closest=[chunk]), 2, {document.id: document})
    assert "Closest matches" in closest and "closest match 1" in closest and 'href="#src-2-near-1"' in closest


def test_document_view_has_section_tree_and_marks_every_quote_of_the_citation():
    document = hostile_document()
    answer = hostile_answer(document)
    second = citation_of(document, "Crews work nights.")
    answer.citations.append(second)
    view = source_document_html(answer, {document.id: document}, SourceRef(0, "cite", 1))
    assert view.count("<mark>") == 2 and "<mark>Crews work nights.</mark>" in view
    assert 'data-section="rag-sec-1"' in view and 'id="rag-sec-1"' in view
    assert source_document_html(answer, {document.id: document}, SourceRef(0, "cite", 9)) is None


def test_source_links_parse_only_their_own_shape():
    assert SourceRef.parse("#src-2-cite-11") == SourceRef(2, "cite", 11)
    assert SourceRef.parse(SourceRef(0, "near", 3).href) == SourceRef(0, "near", 3)
    for junk in ("", "javascript:alert(1)", "#src-1-cite-1x", "#src--1-cite-1", "#src-1-other-1"):
        assert SourceRef.parse(junk) is None


def test_markdown_export_contains_questions_citations_and_quotes():
    document = hostile_document()
    answer = hostile_answer(document)
    exported = conversation_markdown([answer], "2025-01-01 12:00")
    citation = answer.citations[0]
    assert "## 1. What about" in exported and "It doubled" in exported
    assert f"- [1] {citation.title.replace('<', '&lt;')}" in exported
    assert f"  > {citation.quote.replace('<', '&lt;')} (characters {citation.start}–{citation.end})" in exported
    assert "<script>" not in exported  # a Markdown viewer must not turn document text into tags
    assert "> Note: The openai backend failed" in exported


def test_markdown_export_names_each_source_once_and_keeps_the_lead_on_its_own_line():
    document = hostile_document()
    answer = hostile_answer(document)
    answer = replace(answer, text="Report said:\nThe budget doubled. [1]\n\nLast.")
    exported = conversation_markdown([answer], "x")
    [source] = [line for line in exported.splitlines() if line.startswith("- [1]")]
    assert source.count("Report ") == 1 and source.endswith("— Findings " + HOSTILE.replace("<", "&lt;"))
    assert "Report said:  \nThe budget doubled. [1]\n\nLast." in exported  # a line break, not a joined line


def test_conversation_history_carries_the_standalone_query():
    conversation = Conversation()
    first = Answer("What did the police say?", "They said. [1]", "en", False, "extractive",
                   search_query="What did the police say?")
    follow_up = Answer("And the health personnel?", "They said too.", "en", False, "extractive",
                       search_query="What did the health personnel say?")
    assert conversation.add(first, {}) == 0 and conversation.add(follow_up, {}) == 1
    assert conversation.history() == [
        {"role": "user", "content": "What did the police say?", "search_query": "What did the police say?"},
        {"role": "assistant", "content": "They said. [1]"},
        {"role": "user", "content": "And the health personnel?", "search_query": "What did the health personnel say?"},
        {"role": "assistant", "content": "They said too."},
    ]


def test_non_local_bind_without_auth_is_refused(monkeypatch):
    monkeypatch.delenv("RAG_AUTH", raising=False)
    with pytest.raises(SettingsError, match="RAG_AUTH=user:password"):
        check_bind("0.0.0.0", None)
    # serve refuses before loading the model or building the index
    with pytest.raises(SettingsError, match="refusing to serve on 0.0.0.0 without a password"):
        serve(Settings.load(), host="0.0.0.0", port=0, block=False)
    check_bind("0.0.0.0", {"ana": "secret"})
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)


def test_loopback_detection():
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"))


def test_auth_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_AUTH", "ana:s3cret:with-colon")
    assert auth_from_env() == {"ana": "s3cret:with-colon"}
    monkeypatch.setenv("RAG_AUTH", "ana:pw1, bob:pw2")
    assert auth_from_env() == {"ana": "pw1", "bob": "pw2"}
    for malformed in ("ana:pw1,bob", "ana:pw1,ana:pw2", "ana:pw1,,"):
        monkeypatch.setenv("RAG_AUTH", malformed)
        with pytest.raises(SettingsError, match="user:password"):
            auth_from_env()
    monkeypatch.setenv("RAG_AUTH", "no-password")
    with pytest.raises(SettingsError, match="user:password"):
        auth_from_env()
    monkeypatch.delenv("RAG_AUTH")
    assert auth_from_env() is None


MARKUP = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) **bold** # not a heading"


def marked_note() -> Briefing:
    """A briefing whose quotes, headings, titles, group, topic and notice all carry markup."""
    title, heading = f"Report {MARKUP}", f"Politi: {MARKUP}"
    citation = Citation(1, "c1", "doc", title, (title, heading), f"They said {MARKUP}.", 0, 10)
    point = Point(citation.quote, (citation,), f"Politi {MARKUP}")
    group = Group(point.group, "doc", title, (title, heading))
    return Briefing(f"budget {MARKUP}", "en", "2026-01-01", "extractive", [title], [group.label],
                    summary=[point], perspectives=[Perspective(group, [point], [point])], key_quotes=[point],
                    sources=[citation], notices=[f"The backend said {MARKUP}"])


class NoteEngine:
    """Stands in for the app's engine: no answerer needed, the writer below makes the note."""

    def answerer(self, backend):
        return None


class NoteWriter:
    """Stands in for `BriefingWriter`: every topic gets `marked_note()`."""

    def __init__(self, answerer):
        pass

    def write(self, topic):
        return marked_note()


def test_briefing_preview_shows_document_markup_as_text(monkeypatch, tmp_path):
    monkeypatch.setattr(ui.briefing_tab, "BriefingWriter", NoteWriter)
    exports = ScratchFolder("rag-test-", parent=tmp_path)  # kept: its folder goes with it
    preview, path = write_briefing(NoteEngine(), "budget", "md", None, exports)
    assert "<img" not in preview and "](javascript:" not in preview and "**bold**" not in preview
    assert "&lt;img src" in preview and "\\[x\\]\\(javascript" in preview
    # What a Markdown viewer makes of it: no tag, no link, no emphasis; the markup reads as text.
    rendered = MarkdownIt("commonmark").render(preview)
    assert not TAG.search(rendered) and "<a " not in rendered and "<strong>bold" not in rendered
    assert rendered.count(html.escape(MARKUP, quote=False)) >= 8
    # The downloaded file stays verbatim.
    assert f"They said {MARKUP}." in open(path, encoding="utf-8").read()


def test_a_failed_briefing_export_is_a_warning_not_a_traceback(monkeypatch, tmp_path):
    def refuse(note, path, file_format):
        raise ValueError("All strings must be XML compatible")

    monkeypatch.setattr(ui.briefing_tab, "BriefingWriter", NoteWriter)
    monkeypatch.setattr(ui.briefing_tab, "write", refuse)
    with pytest.warns(UserWarning, match=r"could not be saved as \.docx \(ValueError: All strings must be XML"):
        exports = ScratchFolder("rag-test-", parent=tmp_path)  # kept: its folder goes with it
        preview, path = write_briefing(NoteEngine(), "budget", "docx", None, exports)
    assert preview.startswith("# Briefing: budget") and path is None


def test_turn_queue_serves_in_order_shows_places_and_survives_a_user_leaving():
    """Item 10: a serial backend answers one at a time; waiters see how many are ahead, and one
    who leaves while waiting does not hold up the rest."""
    import threading
    import time

    from ui.turns import Queued, TurnQueue

    turns = TurnQueue(poll_seconds=0.01)
    first, gone, last = object(), object(), object()
    assert list(turns.wait_turn(first)) == []  # nobody ahead: straight in
    waiting_gone = turns.wait_turn(gone)
    assert next(waiting_gone) == Queued(1)
    seen: list[Queued] = []
    waiter = threading.Thread(target=lambda: seen.extend(turns.wait_turn(last)))
    waiter.start()
    while not seen:  # the last one has joined and been told its place
        time.sleep(0.01)
    waiting_gone.close()
    turns.leave(gone)  # the user closed the tab while waiting: the last one moves up
    deadline = time.monotonic() + 5
    while seen[-1] != Queued(1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [Queued(2), Queued(1)] and waiter.is_alive()
    turns.leave(first)  # the answer in progress finished: the last one's turn
    waiter.join(timeout=5)
    assert not waiter.is_alive()
    turns.leave(last)
    assert len(turns) == 0
