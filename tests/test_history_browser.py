"""Saved conversations and remembered settings in a real browser (Chromium via Playwright).

Apps are served in-process over the session's seed index with conversations in a fresh data
folder; a restart is closing the app and serving it again over the same folders.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPORT, SEEDS
from playwright.sync_api import Page, expect
from test_ui_browser import ARTIFACTS, ask, browser, open_page, wait_for_answer  # noqa: F401 (fixture)

from rag.settings import Settings
from ui.app import EXAMPLES
from ui.serving import serve

pytestmark = pytest.mark.slow

ITEMS = "#rag-history-list label"


@pytest.fixture
def settings(seed_index, tmp_path):
    return Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent, data_dir=tmp_path / "data")


def log_in(page: Page, user: str, password: str) -> None:
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#rag-question textarea")).to_be_visible()


def test_a_conversation_survives_a_restart_and_continues_with_its_history(browser, settings):  # noqa: F811
    app = serve(settings, port=0, backend="extractive", block=False)
    try:
        page = open_page(browser, app.local_url, [])
        ask(page, EXAMPLES[0])
        expect(page.locator(ITEMS)).to_have_text([EXAMPLES[0]])
    finally:
        app.close()

    app = serve(settings, port=0, backend="extractive", block=False)
    try:
        page = open_page(browser, app.local_url, [])
        expect(page.locator(ITEMS)).to_have_text([EXAMPLES[0]])
        page.locator(ITEMS).first.click()
        wait_for_answer(page, 1)
        expect(page.locator("#rag-chat [data-testid=user]").first).to_contain_text(EXAMPLES[0])
        ask(page, "And the health personnel?", answers_before=1)
        crumbs = " ".join(page.locator("#rag-sources .rag-crumbs").all_inner_texts())
        assert "Helsepersonell" in crumbs  # answered as a follow-up about the health personnel's views
        page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
        with page.expect_download() as download:
            page.locator("#rag-export").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert f"## 1. {EXAMPLES[0]}" in exported and "## 2. And the health personnel?" in exported

        page.locator("#rag-history-title input").fill("Police and health personnel")
        page.locator("#rag-history-rename").click()
        expect(page.locator(ITEMS)).to_have_text(["Police and health personnel"])
        page.locator("#rag-new").click()
        expect(page.locator("#rag-chat [data-testid=bot]")).to_have_count(0)
        ask(page, EXAMPLES[1])
        expect(page.locator(ITEMS)).to_have_text([EXAMPLES[1], "Police and health personnel"])
        page.locator(ITEMS).nth(1).click()
        wait_for_answer(page, 2)
        page.locator("#rag-history-delete").click()  # asks first; cancelling keeps it
        expect(page.locator("#rag-history-delete-question")).to_have_text(
            "Delete «Police and health personnel» and its 2 answers? This cannot be undone.")
        page.locator("#rag-history-delete-cancel").click()
        expect(page.locator("#rag-history-delete-question")).to_be_hidden()
        expect(page.locator(ITEMS)).to_have_count(2)
        # Opening another conversation withdraws the question: confirming deleted the newly opened one.
        page.locator("#rag-history-delete").click()
        expect(page.locator("#rag-history-delete-question")).to_be_visible()
        page.locator(ITEMS).nth(0).click()
        wait_for_answer(page, 1)
        expect(page.locator("#rag-history-delete-question")).to_be_hidden()
        expect(page.locator("#rag-history-delete-confirm")).to_be_hidden()
        page.locator(ITEMS).nth(1).click()
        wait_for_answer(page, 2)
        page.locator("#rag-history-delete").click()
        page.locator("#rag-history-delete-confirm").click()
        expect(page.locator(ITEMS)).to_have_text([EXAMPLES[1]])
        expect(page.locator("#rag-chat [data-testid=bot]")).to_have_count(0)
    finally:
        app.close()


def test_each_user_sees_only_their_own_conversations(browser, settings, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RAG_AUTH", "ana:pw1,bob:pw2")
    app = serve(settings, port=0, backend="extractive", block=False)
    try:
        ana = open_page(browser, app.local_url, [])
        log_in(ana, "ana", "pw1")
        ask(ana, EXAMPLES[0])
        expect(ana.locator(ITEMS)).to_have_text([EXAMPLES[0]])

        bob_context = browser.new_context(viewport={"width": 1400, "height": 1000})  # his own cookies
        bob = bob_context.new_page()
        bob.goto(app.local_url)
        log_in(bob, "bob", "pw2")
        expect(bob.locator("#rag-history")).to_be_visible()
        expect(bob.locator(ITEMS)).to_have_count(0)
        # Nothing open: a warning says why, and no "Error" badge covers the panel's controls.
        bob.locator("#rag-history-rename").click()
        bob.locator("#rag-history-delete").click()
        expect(bob.locator(".toast-body")).to_contain_text("Open a saved conversation to delete it.")
        expect(bob.locator("#rag-history-delete-question")).to_be_hidden()
        expect(bob.locator("#rag-history .error")).to_have_count(0)
        ask(bob, EXAMPLES[1])
        expect(bob.locator(ITEMS)).to_have_text([EXAMPLES[1]])

        ana.reload()
        expect(ana.locator(ITEMS)).to_have_text([EXAMPLES[0]])
        bob_context.close()
    finally:
        app.close()


def test_answer_settings_are_remembered_across_reloads(browser, settings, seed_index):  # noqa: F811
    report_title = seed_index.documents[REPORT].title
    app = serve(settings, port=0, backend="extractive", block=False)
    try:
        page = open_page(browser, app.local_url, [])
        page.get_by_text("Answer settings").click()
        page.locator("#rag-language").get_by_text("Norsk", exact=True).click()
        page.locator("#rag-mode").get_by_text("Free", exact=True).click()
        page.locator("#rag-k input[type=number]").fill("3")
        page.locator("#rag-k input[type=number]").press("Enter")
        page.locator("#rag-doc-filter input").click()
        page.get_by_role("option", name=report_title, exact=True).click()
        page.wait_for_timeout(500)
        page.reload()
        page.get_by_text("Answer settings").click()
        expect(page.locator("#rag-language input[value=no]")).to_be_checked()
        expect(page.locator("#rag-mode input[value=free]")).to_be_checked()
        expect(page.locator("#rag-k input[type=number]")).to_have_value("3")
        expect(page.locator("#rag-doc-filter")).to_contain_text(report_title)
    finally:
        app.close()
