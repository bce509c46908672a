"""The real app in a real browser: Debian's Chromium driven by Playwright.

Each app is served in-process by `ui.serving.serve` on a free port with the extractive
backend, over the session's seed index (see conftest). Screenshots land in
tests/artifacts/.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS
from documents import PDF_LINES, write_docx, write_pdf
from playwright.sync_api import Browser, Page, expect, sync_playwright

from rag.answer import Answerer
from rag.answer.backends.base import BackendError
from rag.answer.backends.registry import register, unregister
from rag.index import update_index
from rag.retrieval import Retriever
from rag.settings import Settings
from ui.app import EXAMPLES
from ui.serving import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ANSWER_TIMEOUT_MS = 90_000
HOSTILE_QUESTION = "How did Bodø change its snow clearing budget?"
HOSTILE_TOPIC = "snow clearing budget"
HOSTILE_TITLE = "Snow clearing in Bodø <img src=x onerror=alert(1)></script><script>alert(1)</script>"
# A group heading ("Label: ..."), so that the document is a perspective of the briefing too.
HOSTILE_HEADING = "Kommunen: Brøyting **bold** [link](javascript:alert(1)) <b id=pwned-heading>$$x$$</b>"
# What a Markdown renderer (the briefing preview) would turn into emphasis, links, images or maths.
MARKDOWN_PAYLOAD = "**bold** [link](javascript:alert(1)) ![img](x onerror=alert(1)) $$x$$"
# HTML that would set `window.__pwned` or leave an element with a `pwned-*` id if it were parsed.
HTML_PAYLOAD = ('<a id=pwned-link href="javascript:window.__pwned=1">budget</a> '
                "<img src=x onerror=window.__pwned=1> <svg id=pwned-svg onload=window.__pwned=1></svg>")
HOSTILE_TEXT = HOSTILE_TITLE + "\n\n" + HOSTILE_HEADING + """

Budget

The municipality of Bodø doubled its snow clearing budget in 2023 <script>alert(1)</script> because the winter brought record snowfall.

Snow clearing crews in Bodø now work night shifts <img src=x onerror=alert(1)> ${alert(1)} {{alert 1}} so that buses can keep running.

The snow clearing budget of Bodø grew again in 2024 """ + MARKDOWN_PAYLOAD + """ to pay for more ploughs.

The snow clearing budget also pays for night crews """ + HTML_PAYLOAD + """ in Bodø.
"""
# Anything the payloads would leave behind if parsed as HTML or Markdown, in any panel.
INJECTED = "img[src='x'], [onerror], [onload], [id^='pwned'], a[href^='javascript:'], .katex"

EXTRA_TEXT = """Ferries in Lofoten

The ferry from Bodø to Moskenes leaves at seven in the morning every weekday during the winter season.
"""
UNCITED = "Everyone agrees with this without any source at all."

pytestmark = pytest.mark.slow


INVENTED = "The government spent 10 billion kroner on this in 2024"


class ScriptedBackend:
    """Answers with a cited sentence, an invented figure cited anyway, and an uncited sentence."""

    name = "scripted"
    context_window = 8192

    def stream(self, prompt, max_tokens, timeout):
        yield "The police say they lack time and resources [1]. "
        yield f"{INVENTED} [1]. "
        yield UNCITED


class FailingBackend:
    """A backend that is down: the answer falls back to the extractive one, with a notice."""

    name = "failing"
    context_window = 8192

    def stream(self, prompt, max_tokens, timeout):
        raise BackendError("scripted outage")
        yield  # a generator, like every backend


@pytest.fixture(scope="module")
def scripted_backends():
    """The two scripted backends, registered the way any third-party backend is."""
    register("scripted", lambda context: ScriptedBackend())
    register("failing", lambda context: FailingBackend())
    yield
    unregister("scripted")
    unregister("failing")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (Playwright's own browser download does not work here)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def seed_settings(seed_index, tmp_path_factory):
    """Settings for the seeds over the session's already built seed index, with conversations
    saved in a folder of this module's own (other tests' conversations would be listed too)."""
    return Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent, backend="extractive",
                         data_dir=tmp_path_factory.mktemp("browser-data"))


@pytest.fixture(scope="module")
def seed_app(seed_settings, scripted_backends):
    """URL of the app serving the seeds (the scripted backends are in its backend list)."""
    app = serve(seed_settings, port=0, backend="extractive", block=False)
    yield app.local_url
    app.close()


@pytest.fixture(scope="module")
def hostile_app(seed_index, embedder, tmp_path_factory):
    """(URL, corpus folder) of the app serving the seeds plus a document full of markup.

    The seed index is copied and updated, so only the new document is embedded."""
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(SEEDS, root / "corpus")
    (root / "corpus" / "zz_hostile.txt").write_text(HOSTILE_TEXT, encoding="utf-8")
    shutil.copytree(seed_index.folder.parent, root / "index", symlinks=True)
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index")
    report = update_index(settings, embedder, progress=lambda message: None)
    assert report.added == ["zz_hostile"]
    app = serve(settings, port=0, backend="extractive", block=False)
    yield app.local_url, root / "corpus"
    app.close()


def open_page(browser: Browser, url: str, dialogs: list[str]) -> Page:
    """A fresh page on the app that records (and dismisses) any dialog."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    return page


def choose_backend(page: Page, name: str) -> None:
    """Pick a backend in the (collapsed) answer settings."""
    if not page.locator("#rag-backend").is_visible():
        page.get_by_text("Answer settings").click()
    page.locator("#rag-backend input").click()
    page.get_by_role("option", name=name, exact=True).click()
    expect(page.locator("#rag-backend input")).to_have_value(name)


def ask(page: Page, question: str, answers_before: int = 0) -> None:
    """Type a question, send it, and wait until its answer has finished streaming."""
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    wait_for_answer(page, answers_before + 1)


def wait_for_answer(page: Page, answers: int) -> None:
    """Wait until the chat holds `answers` finished answers (no streaming cursor left)."""
    expect(page.locator("#rag-chat [data-testid=bot]")).to_have_count(answers, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#rag-chat .rag-typing")).to_have_count(0, timeout=ANSWER_TIMEOUT_MS)


def normalised(texts: list[str]) -> list[str]:
    """Texts with whitespace collapsed, sorted (the browser reflows line breaks)."""
    return sorted(" ".join(text.split()) for text in texts)


def assert_inert(page: Page, dialogs: list[str]) -> None:
    """No dialog opened, no payload ran and no element from a document exists anywhere on the page."""
    page.wait_for_timeout(1000)  # time for any injected handler to fire
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate(f"document.querySelectorAll({INJECTED!r}).length") == 0
    # The page's own scripts hold the config as JSON (with `<` escaped), so look for the
    # document's script as an element: anywhere with its text, or anywhere in the app's panels.
    assert page.evaluate("Array.from(document.scripts).filter(s => s.textContent.trim() === 'alert(1)').length") == 0
    panels = "#rag-chat script, #rag-sources script, #rag-document script, #rag-corpus script, #rag-brief-preview script"
    assert page.evaluate(f"document.querySelectorAll('{panels}').length") == 0


def test_example_question_cites_sources_and_opens_the_quote_in_its_document(browser, seed_app, seed_settings,
                                                                            seed_index, embedder):
    dialogs: list[str] = []
    page = open_page(browser, seed_app, dialogs)
    # The example button, not a saved conversation of the same title in the side panel.
    page.get_by_role("button", name=EXAMPLES[0], exact=True).click()
    expect(page.locator("#rag-question textarea")).to_have_value(EXAMPLES[0])
    page.locator("#rag-question textarea").press("Enter")
    wait_for_answer(page, 1)

    crumbs = page.locator("#rag-sources .rag-card .rag-crumbs").all_inner_texts()
    headings = [heading.strip() for crumb in crumbs for heading in crumb.split("›")]
    assert any(heading.startswith("Politi") for heading in headings), crumbs
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)

    link = page.locator("#rag-chat a.rag-cite").first
    number = int(link.inner_text().strip("[]"))
    link.click()
    expected = Answerer(seed_settings, Retriever(seed_index, embedder)).ask(EXAMPLES[0])
    quotes = [c.quote for c in expected.citations if c.n == number]
    marks = page.locator("#rag-document mark")
    expect(marks.first).to_be_in_viewport()
    assert normalised(marks.all_inner_texts()) == normalised(quotes)
    title = next(c.title for c in expected.citations if c.n == number)
    expect(page.locator("#rag-document header .rag-title")).to_have_text(title)
    expect(page.locator("#rag-sources .rag-card.rag-active .rag-badge")).to_have_text(f"[{number}]")
    page.screenshot(path=str(ARTIFACTS / "document.png"))
    assert dialogs == []


def test_source_cards_never_cover_the_document(browser, seed_app):
    """With three long source cards, clicking [1] scrolled to a document the cards were drawn over."""
    page = open_page(browser, seed_app, [])
    ask(page, "Hva sier helsepersonell om stigma?")
    page.locator("#rag-chat [data-testid=bot]").last.locator("a.rag-cite").first.click()
    expect(page.locator("#rag-document mark").first).to_be_in_viewport()
    assert not sources_drawn_over_the_document(page)


def sources_drawn_over_the_document(page: Page) -> list:
    """The source cards whose drawn part overlaps the document panel (they overflowed their column and
    covered the document's text). A card is drawn within the column when the column clips it."""
    return page.evaluate("""() => {
      const column = document.querySelector('#rag-sources');
      const clips = getComputedStyle(column).overflowY !== 'visible';
      const clip = clips ? column.getBoundingClientRect() : {top: -1e9, bottom: 1e9};
      const doc = document.querySelector('#rag-document').getBoundingClientRect();
      return Array.from(column.querySelectorAll('.rag-card')).map(card => card.getBoundingClientRect())
        .filter(r => Math.min(r.bottom, clip.bottom, doc.bottom) > Math.max(r.top, clip.top, doc.top)
                     && Math.min(r.right, doc.right) > Math.max(r.left, doc.left))
        .map(r => [r.top, r.bottom]);
    }""")


def test_follow_up_export_and_new_conversation(browser, seed_app):
    page = open_page(browser, seed_app, [])
    ask(page, EXAMPLES[0])
    ask(page, "And the health personnel?", answers_before=1)
    crumbs = " ".join(page.locator("#rag-sources .rag-crumbs").all_inner_texts())
    assert "Helsepersonell" in crumbs

    with page.expect_download() as download:
        page.locator("#rag-export").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    # Named after its first question: every export was "conversation.md".
    assert download.value.suggested_filename == "conversation-what-did-the-police-say-about-lack-of-resources.md"
    assert "## 1. What did the police say about lack of resources?" in exported
    assert "## 2. And the health personnel?" in exported
    quote = page.locator("#rag-sources mark").first.inner_text()
    assert " ".join(quote.split()) in " ".join(exported.split())

    # A question typed before (or while) the conversation is reset is the new conversation's first.
    page.locator("#rag-question textarea").fill(EXAMPLES[1])
    page.locator("#rag-new").click()
    expect(page.locator("#rag-chat [data-testid=bot]")).to_have_count(0)
    expect(page.locator("#rag-sources .rag-card")).to_have_count(0)
    expect(page.locator("#rag-question textarea")).to_have_value(EXAMPLES[1])
    page.locator("#rag-question textarea").press("Enter")
    wait_for_answer(page, 1)
    expect(page.locator("#rag-chat [data-testid=user]")).to_have_count(1)

    # A question without words is refused with a warning; "Error" badges covered the chat and its answer.
    page.locator("#rag-question textarea").fill("???")
    page.locator("#rag-question textarea").press("Enter")
    expect(page.locator(".toast-body")).to_contain_text("The question '???' has no words in it")
    expect(page.locator(".error")).to_have_count(0)
    expect(page.locator("#rag-chat [data-testid=bot]")).to_have_count(1)


def test_xss_hostile_document_text_is_inert_in_chat_briefing_and_document_viewer(browser, hostile_app):
    """Markup in a document's title, group heading and text reads as typed in the chat, the sources,
    the document view (title, section tree, headings, text), the corpus table and the briefing preview;
    no element of it exists, no dialog opens and none of its scripts runs."""
    dialogs: list[str] = []
    page = open_page(browser, hostile_app[0], dialogs)
    ask(page, HOSTILE_QUESTION)
    answer = page.locator("#rag-chat [data-testid=bot]").first
    for text in ("<script>alert(1)</script>", MARKDOWN_PAYLOAD, HTML_PAYLOAD):
        expect(answer).to_contain_text(text)
    expect(page.locator("#rag-sources .rag-title").first).to_have_text(HOSTILE_TITLE)
    expect(page.locator("#rag-sources .rag-crumbs").first).to_contain_text(HOSTILE_HEADING)

    page.locator("#rag-chat a.rag-cite").first.click()
    document = page.locator("#rag-document")
    expect(document.locator("mark").first).to_contain_text("<script>alert(1)</script>")
    expect(document.locator("header .rag-title")).to_have_text(HOSTILE_TITLE)
    expect(document.locator("header .rag-crumbs")).to_contain_text(HOSTILE_HEADING)
    expect(document.locator(".rag-toc a")).to_have_text([HOSTILE_TITLE, HOSTILE_HEADING, "Budget"])
    expect(document.locator(".rag-doc-text h3, .rag-doc-text h4")).to_have_text([HOSTILE_TITLE, HOSTILE_HEADING])
    for text in ("${alert(1)} {{alert 1}}", MARKDOWN_PAYLOAD, HTML_PAYLOAD):
        expect(document.locator(".rag-doc-text")).to_contain_text(text)
    assert_inert(page, dialogs)

    page.get_by_role("tab", name="Corpus").click()
    expect(page.locator("#rag-corpus")).to_contain_text(HOSTILE_TITLE)

    page.get_by_role("tab", name="Briefing").click()
    page.locator("#rag-brief-topic textarea").fill(HOSTILE_TOPIC)
    page.locator("#rag-brief-run").click()
    preview = page.locator("#rag-brief-preview")
    expect(preview.locator("h1")).to_have_text(f"Briefing: {HOSTILE_TOPIC}", timeout=ANSWER_TIMEOUT_MS)
    for text in (HOSTILE_TITLE, HOSTILE_HEADING, "<script>alert(1)</script>", MARKDOWN_PAYLOAD, HTML_PAYLOAD):
        expect(preview).to_contain_text(text)
    # The note's own Markdown still renders; the document's does not.
    expect(preview.locator("h3", has_text="Kommunen")).to_have_count(1)
    expect(preview.locator("strong", has_text="bold")).to_have_count(0)
    expect(preview.locator("a, img, b, svg, script")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "briefing_markup.png"), full_page=True)
    assert_inert(page, dialogs)


def test_uncited_and_unsupported_sentences_and_fallback_notices_are_visible(browser, seed_app):
    page = open_page(browser, seed_app, [])
    choose_backend(page, "scripted")
    page.locator("#rag-mode").get_by_text("Free", exact=True).click()  # the model places [n] itself
    ask(page, EXAMPLES[0])
    answer = page.locator("#rag-chat [data-testid=bot]").last
    expect(answer.locator(".rag-uncited")).to_have_text(UNCITED)
    expect(answer.locator(".rag-uncited-flag")).to_be_visible()
    expect(answer.locator(".rag-unsupported", has_text=INVENTED)).to_be_visible()
    expect(answer.locator(".rag-unsupported-flag", has_text="10 billion")).to_be_visible()
    answer.screenshot(path=str(ARTIFACTS / "unsupported.png"))

    choose_backend(page, "failing")
    ask(page, EXAMPLES[0], answers_before=1)
    answer = page.locator("#rag-chat [data-testid=bot]").last
    expect(answer.locator(".rag-notice")).to_contain_text("The failing backend failed (scripted outage)")
    expect(answer.locator("a.rag-cite").first).to_be_visible()  # the extractive answer that replaced it


def test_reindex_shows_progress_and_answers_from_the_new_document(browser, hostile_app):
    url, corpus = hostile_app
    (corpus / "zz_extra.txt").write_text(EXTRA_TEXT, encoding="utf-8")
    page = open_page(browser, url, [])
    page.get_by_role("tab", name="Corpus").click()
    expect(page.locator("#rag-corpus")).to_contain_text("needs re-indexing (1 added)")
    page.locator("#rag-reindex").click()
    log = page.locator("#rag-reindex-log textarea")
    expect(log).to_have_value(re.compile(r"embedding 1 chunks.*Index updated in .*1 added", re.DOTALL),
                              timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#rag-corpus")).to_contain_text("Ferries in Lofoten")
    expect(page.locator("#rag-corpus")).to_contain_text("up to date")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "When does the ferry from Bodø to Moskenes leave?")
    expect(page.locator("#rag-sources .rag-title").first).to_have_text("Ferries in Lofoten")


@pytest.fixture
def upload_app(seed_index, tmp_path):
    """(URL, corpus folder, the test's whole folder) of an app over a private copy of the seeds and
    their index: uploads change both."""
    root = tmp_path / "area"
    shutil.copytree(SEEDS, root / "corpus")
    shutil.copytree(seed_index.folder.parent, root / "index", symlinks=True)
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index")
    app = serve(settings, port=0, backend="extractive", block=False)
    yield app.local_url, root / "corpus", tmp_path
    app.close()


def upload_files(page: Page, files: list) -> None:
    """Put files in the Corpus tab's upload box (as the file picker does), wait until they are
    uploaded (each has its download link), and press "Add to the corpus"."""
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#rag-upload input[type=file]").set_input_files(files)
    expect(page.locator("#rag-upload a[href*='/file=']")).to_have_count(len(files), timeout=30_000)
    page.locator("#rag-add").click()


def all_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_uploaded_docx_and_pdf_answer_with_citations_into_them(browser, upload_app, tmp_path):
    url, corpus, _ = upload_app
    docx = write_docx(tmp_path / "Notat.docx")
    pdf = write_pdf(tmp_path / "Tiltak.pdf", PDF_LINES)
    page = open_page(browser, url, [])
    upload_files(page, [str(docx), str(pdf)])
    # The progress bar, named by the phase: embedding takes seconds even for two short documents.
    expect(page.locator("#rag-changes .progress-level-inner")).to_contain_text("embedding", timeout=30_000)
    expect(page.locator("#rag-changes .progress-bar")).to_be_visible()
    changes = page.locator("#rag-changes textarea")
    expect(changes).to_have_value(re.compile(r"Notat.docx: added as Notat.docx\nTiltak.pdf: added as Tiltak.pdf\n"
                                             r"Index updated in .* 2 added"), timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#rag-corpus")).to_contain_text("Notat om LAR")
    expect(page.locator("#rag-corpus")).to_contain_text("Tiltak i kommunene")
    assert (corpus / "Notat.docx").read_bytes() == docx.read_bytes()
    page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)

    page.get_by_role("tab", name="Chat").click()
    ask(page, "Hva reduserer legemiddelassistert rehabilitering?")
    expect(page.locator("#rag-sources .rag-title").first).to_have_text("Notat om LAR")
    page.locator("#rag-chat a.rag-cite").first.click()
    expect(page.locator("#rag-document header .rag-title")).to_have_text("Notat om LAR")
    expect(page.locator("#rag-document mark").first).to_contain_text("reduserer overdoser")

    ask(page, "Hvem må kommunene tilby flere boliger til?", answers_before=1)
    expect(page.locator("#rag-sources .rag-title").first).to_have_text("Tiltak i kommunene")
    page.locator("#rag-chat [data-testid=bot]").last.locator("a.rag-cite").first.click()
    expect(page.locator("#rag-document header .rag-title")).to_have_text("Tiltak i kommunene")
    expect(page.locator("#rag-document mark").first).to_contain_text("boliger")

    page.get_by_role("tab", name="Corpus").click()
    page.locator("#rag-remove-choice input").click()
    page.get_by_role("option", name="Notat om LAR", exact=True).click()
    page.locator("#rag-remove").click()
    expect(page.locator("#rag-remove-question")).to_contain_text("Remove «Notat om LAR»? Its file is deleted")
    assert (corpus / "Notat.docx").exists()  # nothing goes before it is confirmed
    # Choosing another document withdraws the question: confirming removed the newly chosen one.
    page.locator("#rag-remove-choice input").click()
    page.get_by_role("option", name="Tiltak i kommunene", exact=True).click()
    expect(page.locator("#rag-remove-question")).to_be_hidden()
    page.locator("#rag-remove-choice input").click()
    page.get_by_role("option", name="Notat om LAR", exact=True).click()
    page.locator("#rag-remove").click()
    page.locator("#rag-remove-confirm").click()
    expect(changes).to_have_value(re.compile(r"Notat: removed\nIndex updated in .* 1 removed"),
                                  timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#rag-corpus")).not_to_contain_text("Notat om LAR")
    assert not (corpus / "Notat.docx").exists() and (corpus / "Tiltak.pdf").exists()


def test_traversal_name_and_empty_file_are_refused_and_nothing_is_written(browser, upload_app):
    url, corpus, area = upload_app
    before = all_files(area)
    page = open_page(browser, url, [])
    hostile = {"name": "../../etc/x.txt", "mimeType": "text/plain", "buffer": b"Planted text.\n"}
    empty = {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""}
    upload_files(page, [hostile, empty])
    changes = page.locator("#rag-changes textarea")
    expect(changes).to_have_value(re.compile(r"Nothing was added"), timeout=ANSWER_TIMEOUT_MS)
    log = changes.input_value()
    assert "../../etc/x.txt: refused, the name contains folder parts" in log, log
    assert "empty.txt: refused, the file is empty (0 bytes)" in log, log
    page.screenshot(path=str(ARTIFACTS / "upload-refused.png"), full_page=True)
    assert all_files(area) == before  # the corpus, the index and the folders around them
    assert not Path("/etc/x.txt").exists()
