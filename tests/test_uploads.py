"""Checks on uploaded documents: names, sizes, content by type, overwrites, and the atomic write."""
from __future__ import annotations

import pytest
from documents import PDF_LINES, write_docx, write_markdown, write_pdf

from ui.uploads import Refused, Upload, safe_name, store_uploads

MB = 2**20


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "area" / "corpus"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def incoming(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    return folder


def upload(incoming, name: str, data: bytes) -> Upload:
    path = incoming / f"blob-{len(list(incoming.iterdir()))}"
    path.write_bytes(data)
    return Upload(name, path)


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["../../etc/x.txt", "..\\x.txt", "/etc/passwd.txt", "sub/x.txt", "..", ""])
def test_names_with_folders_or_without_a_name_are_refused(name):
    with pytest.raises(Refused):
        safe_name(name)


@pytest.mark.parametrize("name, reason", [(".hidden.txt", "hidden"), ("x.exe", "not a supported type"),
                                          ("noext", "no extension"), ("a\x00b.txt", "control")])
def test_hidden_unsupported_and_odd_names_are_refused(name, reason):
    with pytest.raises(Refused, match=reason):
        safe_name(name)


def test_plain_names_pass_unchanged():
    assert safe_name("  Notat om LAR (2024).docx ") == "Notat om LAR (2024).docx"


def test_traversal_name_writes_nothing_outside_the_corpus(tmp_path, corpus, incoming):
    [verdict] = store_uploads([upload(incoming, "../../etc/x.txt", b"Some text.\n")], corpus, 50 * MB)
    assert not verdict.accepted and "folder parts" in verdict.reason
    assert verdict.message().startswith("../../etc/x.txt: refused")
    assert files_under(tmp_path / "area") == []


@pytest.mark.parametrize("name, data, reason", [
    ("report.pdf", b"This is just text pretending to be a PDF.\n", "not a PDF"),
    ("notes.docx", b"Plain text, not a zip at all.\n", "not a Word .docx"),
    ("notes.docx", b"PK\x03\x04 broken zip", "not a Word .docx"),
    ("readme.txt", b"MZ\x90\x00\x03\x00\x00\x00 an executable", "binary"),
    ("readme.md", b"text with a \x00 NUL byte", "binary"),
    ("page.html", b"no tags here, only words", "not HTML"),
    ("empty.txt", b"", "empty"),
])
def test_content_must_match_the_type(corpus, incoming, name, data, reason):
    [verdict] = store_uploads([upload(incoming, name, data)], corpus, 50 * MB)
    assert not verdict.accepted and reason in verdict.reason, verdict
    assert files_under(corpus) == []


def test_a_pdf_without_text_is_refused_with_the_loaders_reason(corpus, incoming, tmp_path):
    blank = write_pdf(tmp_path / "blank.pdf", [])
    [verdict] = store_uploads([Upload("scan.pdf", blank)], corpus, 50 * MB)
    assert not verdict.accepted and "no text layer" in verdict.reason
    assert str(tmp_path) not in verdict.reason


def test_size_limit(corpus, incoming):
    big = upload(incoming, "big.txt", b"word " * 300_000)  # 1.4 MB
    [verdict] = store_uploads([big], corpus, 1 * MB)
    assert not verdict.accepted and "1.4 MB is more than the 1 MB limit" in verdict.reason
    [verdict] = store_uploads([big], corpus, 2 * MB)
    assert verdict.accepted


def test_real_documents_are_stored_atomically(corpus, incoming, tmp_path):
    docx = write_docx(tmp_path / "in.docx")
    pdf = write_pdf(tmp_path / "in.pdf", PDF_LINES)
    md = write_markdown(tmp_path / "in.md")
    verdicts = store_uploads([Upload("Notat.docx", docx), Upload("Tiltak.pdf", pdf), Upload("reform.md", md)],
                             corpus, 50 * MB)
    assert [v.accepted for v in verdicts] == [True, True, True], verdicts
    assert files_under(corpus) == ["Notat.docx", "Tiltak.pdf", "reform.md"]  # no temporary files left
    assert (corpus / "Tiltak.pdf").read_bytes() == pdf.read_bytes()
    assert (corpus / "Tiltak.pdf").stat().st_mode & 0o777 == 0o644


def test_overwrite_needs_replace(corpus, incoming):
    (corpus / "note.txt").write_text("Old text.\n", encoding="utf-8")
    [refused] = store_uploads([upload(incoming, "note.txt", b"New text.\n")], corpus, 50 * MB)
    assert not refused.accepted and "already in the corpus" in refused.reason
    assert (corpus / "note.txt").read_text(encoding="utf-8") == "Old text.\n"
    [replaced] = store_uploads([upload(incoming, "note.txt", b"New text.\n")], corpus, 50 * MB, replace=True)
    assert replaced.accepted and replaced.replaced and "replaced" in replaced.message()
    assert (corpus / "note.txt").read_text(encoding="utf-8") == "New text.\n"


def test_one_refusal_does_not_stop_the_others(corpus, incoming):
    verdicts = store_uploads([upload(incoming, "x.exe", b"MZ"), upload(incoming, "ok.txt", b"Fine text.\n")],
                             corpus, 50 * MB)
    assert [(v.name, v.accepted) for v in verdicts] == [("x.exe", False), ("ok.txt", True)]
    assert files_under(corpus) == ["ok.txt"]
