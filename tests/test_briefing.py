"""Briefing notes on the seed index: perspectives, measures, verbatim quotes, exports, the LLM path."""
from __future__ import annotations

import re
from pathlib import Path

import docx
import gradio as gr
import pytest
from conftest import OPED, REPORT, SEEDS
from markdown_it import MarkdownIt

from rag.answer import Answerer
from rag.answer.backends.base import BackendError
from rag.answer.backends.registry import register, unregister
from rag.briefing import BriefingWriter
from rag.briefing.export import LABELS, source_line, to_docx, to_markdown, write
from rag.briefing.groups import Group, find_groups
from rag.briefing.writer import Briefing, Perspective, Point
from rag.cli import main
from rag.retrieval import Retriever
from rag.settings import Settings, SettingsError
from rag.types import Answer, Citation
from ui.briefing_tab import write_briefing
from ui.engine import Engine
from ui.markdown_export import conversation_markdown
from ui.scratch import ScratchFolder

pytestmark = pytest.mark.slow

RESOURCES = "time pressure and lack of resources"
STIGMA = "measures against stigma"
UNCOVERED = "the fishing quota for cod in 2024"
SOURCE_ENTRY = re.compile(r"^\[(\d+)\] ")


class ScriptedBackend:
    """A fake LLM: replies with `reply(prompt)`, records the prompts, or fails."""

    name = "scripted-brief"
    context_window = 8192

    def __init__(self, reply, error=None):
        self.reply, self.error, self.prompts = reply, error, []

    def stream(self, prompt, max_tokens, timeout):
        self.prompts.append(prompt)
        if self.error:
            raise self.error
        for word in self.reply(prompt).split(" "):
            yield word + " "


@pytest.fixture(scope="module")
def answerer(seed_index, embedder):
    return Answerer(Settings.load(), Retriever(seed_index, embedder))


@pytest.fixture(scope="module")
def writer(answerer):
    return BriefingWriter(answerer)


@pytest.fixture(scope="module")
def notes(writer):
    return {topic: writer.write(topic) for topic in (RESOURCES, STIGMA, UNCOVERED)}


def perspective(note, label):
    return next(p for p in note.perspectives if p.group.label == label)


def cited_paths(points) -> list[tuple[str, ...]]:
    return [c.section_path for point in points for c in point.citations]


def cites(paths, group: str, section: str) -> bool:
    return any(path[1].startswith(group + ":") and path[-1] == section for path in paths)


def scripted_writer(seed_index, embedder, backend) -> BriefingWriter:
    """A writer whose backend is registered and created by name, like any third-party backend."""
    register(backend.name, lambda context: backend)
    try:
        return BriefingWriter(Answerer(Settings.load(), Retriever(seed_index, embedder), backend=backend.name))
    finally:
        unregister(backend.name)


def test_groups_come_from_group_headings_and_authored_documents(seed_documents):
    groups = find_groups(seed_documents.values())
    assert [g.label for g in groups] == ["Thomas Clausen, Helge Waal", "Brukerorganisasjoner", "Helsepersonell",
                                        "Politi"]
    assert groups[0].doc_id == OPED and groups[0].section_prefix == ()
    assert all(g.doc_id == REPORT and len(g.section_prefix) == 2 for g in groups[1:])


def test_groups_can_be_named_in_the_settings(seed_documents):
    named = find_groups(seed_documents.values(), "Police=Politi; Mer tilbud, ikke mindre politi")
    assert [(g.label, g.heading) for g in named] == [
        ("Police", "Politi: Ressursmangel, politiets mandat og kommunikasjonsutfordringer"),
        ("Mer tilbud, ikke mindre politi", "Mer tilbud, ikke mindre politi")]
    with pytest.raises(SettingsError, match="'Fiskeri' matches no section heading"):
        find_groups(seed_documents.values(), "Fiskeri")


def test_resources_each_group_cites_its_own_section(notes):
    note = notes[RESOURCES]
    police = cited_paths(perspective(note, "Politi").points)
    health = cited_paths(perspective(note, "Helsepersonell").points)
    assert cites(police, "Politi", "Manglende tid og ressurser")
    assert cites(health, "Helsepersonell", "Tid og ressurser")
    assert not cites(police, "Helsepersonell", "Tid og ressurser")
    assert not cites(health, "Politi", "Manglende tid og ressurser")


def test_every_perspective_cites_only_its_own_group(notes):
    for note in (notes[RESOURCES], notes[STIGMA]):
        for view in note.perspectives:
            prefix = view.group.section_prefix
            for citation in (c for p in view.points + view.measures for c in p.citations):
                assert citation.doc_id == view.group.doc_id
                assert citation.section_path[:len(prefix)] == prefix, (view.group.label, citation.section_path)


def test_stigma_measures_cite_each_groups_tiltak_section(notes):
    note = notes[STIGMA]
    for label in ("Brukerorganisasjoner", "Helsepersonell", "Politi"):
        paths = cited_paths(perspective(note, label).measures)
        assert cites(paths, label, "Tiltak mot opplevd stigma og diskriminering"), (label, paths)


def test_a_group_with_nothing_on_the_topic_says_so(notes):
    note = notes[RESOURCES]
    silent = [p for p in note.perspectives if not p.covered]
    assert [p.group.label for p in silent] == ["Thomas Clausen, Helge Waal"]
    assert "### Thomas Clausen, Helge Waal\n\n" + LABELS["en"]["silent"] in to_markdown(note)


def test_every_quote_is_exact_at_its_offsets(notes, seed_index):
    for note in (notes[RESOURCES], notes[STIGMA]):
        points = note.summary + note.key_quotes + [p for v in note.perspectives for p in v.points + v.measures]
        assert note.sources and 3 <= len(note.summary) <= 6 and note.key_quotes
        for citation in note.sources + [c for p in points for c in p.citations]:
            assert seed_index.documents[citation.doc_id].text[citation.start:citation.end] == citation.quote
        # Extractive: every statement is the quote it cites, word for word.
        assert all(point.text == point.citations[0].quote for point in points)
        assert all(point.text.count("«") == point.text.count("»") for point in points)  # no «quote» cut in two
        assert [c.n for c in note.sources] == list(range(1, len(note.sources) + 1))


def test_key_quotes_are_whole_sentences_attributed_to_their_group(notes):
    for quote in notes[RESOURCES].key_quotes:
        citation = quote.citations[0]
        assert citation.section_path[1].startswith(quote.group + ":")
        assert quote.text.count("«") == quote.text.count("»") and 8 <= len(quote.text.split()) <= 40


def markdown_sources(markdown: str) -> list[str]:
    tail = markdown.split("## Sources\n", 1)[1]
    return [line.rstrip() for line in tail.splitlines() if SOURCE_ENTRY.match(line)]


def docx_sources(path: Path) -> list[str]:
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    tail = paragraphs[paragraphs.index("Sources") + 1:]
    return [text for text in tail if SOURCE_ENTRY.match(text)]


def test_docx_opens_and_carries_the_same_sources_as_markdown(notes, tmp_path):
    note = notes[STIGMA]
    path = write(note, tmp_path / "stigma.docx")
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert {"Summary", "Perspectives", "Key quotes", "Proposed measures", "Sources", "Politi"} <= set(headings)
    expected = [f"[{c.n}] {source_line(c)}" for c in note.sources]
    assert docx_sources(path) == markdown_sources(to_markdown(note)) == expected
    # Every endnote number is cited in the body, as a superscript marker in Word.
    body_markers = {int(n) for p in document.paragraphs for run in p.runs if run.font.superscript
                    for n in re.findall(r"\[(\d+)\]", run.text)}
    assert body_markers == {c.n for c in note.sources}


def test_uncovered_topic_gives_a_short_note_that_says_so(notes):
    note = notes[UNCOVERED]
    assert not note.covered and not note.sources and not note.perspectives
    markdown = to_markdown(note)
    assert LABELS["en"]["uncovered"] in markdown and len(markdown.splitlines()) <= 6
    paragraphs = docx.Document(__import__("io").BytesIO(to_docx(note))).paragraphs
    assert LABELS["en"]["uncovered"] in [p.text for p in paragraphs]


def test_norwegian_topic_gives_a_norwegian_note(writer):
    note = writer.write("tiltak mot stigma")
    assert note.language == "no" and to_markdown(note).startswith("# Notat: tiltak mot stigma")


def test_llm_points_keep_only_sentences_their_citations_support(seed_index, embedder):
    def reply(prompt):
        return ("Flere av deltakerne mener politiet er underbemannet [1]. Dette har ingen kilde. Noe helt annet [9]. "
                "Politiet fikk 10 milliarder kroner i 2024 [1].")

    backend = ScriptedBackend(reply)
    note = scripted_writer(seed_index, embedder, backend).write(RESOURCES, language="no")
    assert note.backend == "scripted-brief" and note.language == "no"
    assert backend.prompts and all(p.language == "no" for p in backend.prompts)
    assert any("Question: Hva sier Politi om" in p.messages[-1]["content"] for p in backend.prompts)
    written = note.summary + [p for view in note.perspectives for p in view.points]
    assert written and {p.text for p in written} == {"Flere av deltakerne mener politiet er underbemannet."}
    for point in written:
        assert point.citations
        for citation in point.citations:
            assert seed_index.documents[citation.doc_id].text[citation.start:citation.end] == citation.quote
    assert any("[9]" in notice for notice in note.notices)
    assert any("Dette har ingen kilde." in notice for notice in note.notices)
    assert any("10 milliarder" in notice and "10 billion" in notice for notice in note.notices)
    police = cited_paths(perspective(note, "Politi").points)
    assert police and all(path[1].startswith("Politi:") for path in police)


def test_llm_failure_falls_back_to_quoted_passages(seed_index, embedder):
    backend = ScriptedBackend(lambda prompt: "", error=BackendError("connection refused"))
    note = scripted_writer(seed_index, embedder, backend).write(RESOURCES)
    assert sum("connection refused" in notice for notice in note.notices) == 1
    assert cites(cited_paths(perspective(note, "Politi").points), "Politi", "Manglende tid og ressurser")


def test_cli_writes_a_word_briefing(seed_index, tmp_path, capsys):
    out = tmp_path / "resources.docx"
    code = main(["brief", RESOURCES, "--out", str(out), "--corpus", str(SEEDS),
                 "--index", str(seed_index.folder.parent)])
    assert code == 0 and "sources" in capsys.readouterr().err
    assert any("Manglende tid og ressurser" in line for line in docx_sources(out))
    assert main(["brief", RESOURCES, "--format", "docx"]) == 1
    assert "error: a Word briefing needs a file; add --out FILE.docx" in capsys.readouterr().err


def test_briefing_tab_previews_and_offers_the_file(answerer, tmp_path):
    engine = Engine(answerer.settings, answerer)
    exports = ScratchFolder("rag-test-", parent=tmp_path)  # kept: its folder goes with it
    preview, path = write_briefing(engine, STIGMA, "md", None, exports)
    assert preview.startswith("# Briefing: measures against stigma")
    # The preview escapes the document text the file keeps verbatim; rendered, both read the same.
    markdown = MarkdownIt("commonmark")
    assert markdown.render(Path(path).read_text(encoding="utf-8")) == markdown.render(preview)
    assert Path(path).name == "briefing-measures-against-stigma.md"
    with pytest.raises(gr.Error):
        write_briefing(engine, "  ", "md", None, exports)


def test_a_quote_that_begins_with_a_bullet_gets_one_bullet(tmp_path):
    # The op-ed lists measures as "• ..." lines; a list item of them showed "•" after Word's own bullet.
    quote = "• Helsemessige og sosiale hjelpetiltak ble utvidet."
    citation = Citation(1, "c1", "kronikk", "Kronikk", ("Kronikk",), quote, 0, len(quote))
    point = Point(quote, (citation,), "")
    group = Group("Kronikk", "kronikk", "Kronikk", ("Kronikk",))
    note = Briefing("tiltak", "no", "2026-01-01", "extractive", ["Kronikk"], [group.label], summary=[point],
                    perspectives=[Perspective(group, [point], [point])], key_quotes=[point], sources=[citation])
    word = docx.Document(str(write(note, tmp_path / "note.docx")))
    items = [p.text for p in word.paragraphs if p.style.name == "List Bullet"]
    assert items and all(item.startswith("Helsemessige") for item in items), items
    # and Word's properties name the note, not the library that wrote it
    assert word.core_properties.title == "Notat: tiltak" and "python-docx" not in word.core_properties.author
    markdown = write(note, tmp_path / "note.md").read_text(encoding="utf-8")
    assert "- Helsemessige og sosiale" in markdown and "•" not in markdown.replace(quote, ""), markdown


def test_control_characters_do_not_break_docx_export(tmp_path):
    # \x0b and \x0c are not allowed in XML, so python-docx refused the whole note.
    quote = "Politiet har\x0bfor lite tid\x0cog for få folk."
    title, heading = "Rapport\x0b2024", "Politi: Tid\x0cog ressurser"
    citation = Citation(1, "c1", "rapport", title, (title, heading), quote, 0, len(quote))
    point = Point(quote, (citation,), "Politi")
    group = Group("Politi", "rapport", title, (title, heading))
    note = Briefing("tid\x0bog ressurser", "no", "2026-01-01", "extractive", [title], [group.label],
                    summary=[point], perspectives=[Perspective(group, [point], [point])], key_quotes=[point],
                    sources=[citation], notices=["Merknad\x0com kilden"])
    paragraphs = [p.text for p in docx.Document(str(write(note, tmp_path / "note.docx"))).paragraphs]
    assert paragraphs[0] == "Notat: tid og ressurser" and "Merknad om kilden" in paragraphs
    assert "[1] Rapport 2024 — Politi: Tid og ressurser: «Politiet har for lite tid og for få folk.»" in paragraphs
    markdown = write(note, tmp_path / "note.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Notat: tid og ressurser") and "- Merknad om kilden" in markdown
    answer = Answer("Hva\x0bsier politiet?", "De har\x0cfor lite tid. [1]", "no", False, "extractive", [citation])
    exported = conversation_markdown([answer], "2026-01-01")
    assert "## 1. Hva sier politiet?" in exported and "De har for lite tid. [1]" in exported
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", markdown + exported)
