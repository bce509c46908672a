"""Bad documents: generated junk, truncated and corrupted real files, odd sizes and hostile files.

Every input must either load or fail with an `IngestError` that names the file, within a
bounded time; the good documents beside the bad ones must load exactly as they do alone.
"""
from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest
from conftest import OPED, SEEDS
from documents import PDF_LINES, write_docx, write_html, write_markdown, write_pdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.index.chunking import chunk_document
from rag.ingest import IngestError, load_corpus, load_document

SUFFIXES = [".pdf", ".docx", ".html", ".txt", ".md"]
# Generous for a busy 2-core machine: a hang would exceed it by far.
SECONDS_PER_FILE = 10.0
FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])

def load_or_refuse(path: Path, root: Path) -> str:
    """"loaded" or "refused"; fails the test on any other exception or a slow load."""
    started = time.monotonic()
    try:
        document, _ = load_document(path, root)
        outcome = "loaded"
        assert document.text.strip()
    except IngestError as error:
        outcome = "refused"
        assert str(path) in str(error), f"the error does not name the file: {error}"
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS_PER_FILE, f"{path.name} took {elapsed:.1f} s"
    return outcome

@pytest.fixture(scope="module")
def real_files(tmp_path_factory) -> dict[str, bytes]:
    """One genuine file of every format, as bytes."""
    folder = tmp_path_factory.mktemp("real")
    paths = [write_pdf(folder / "a.pdf", PDF_LINES), write_docx(folder / "a.docx"), write_html(folder / "a.html"),
             write_markdown(folder / "a.md")]
    files = {path.suffix: path.read_bytes() for path in paths}
    files[".txt"] = (SEEDS / f"{OPED}.txt").read_bytes()
    return files

@settings(FUZZ, max_examples=250)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_in_any_format(tmp_path, data, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(data)
    load_or_refuse(path, tmp_path)

@settings(FUZZ, max_examples=150)
@given(suffix=st.sampled_from(SUFFIXES), fraction=st.floats(0.0, 1.0))
def test_truncated_real_files(tmp_path, real_files, suffix, fraction):
    data = real_files[suffix]
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * fraction)])
    load_or_refuse(path, tmp_path)

@settings(FUZZ, max_examples=150)
@given(suffix=st.sampled_from(SUFFIXES), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)),
                                                        min_size=1, max_size=20))
def test_corrupted_real_files(tmp_path, real_files, suffix, flips):
    data = bytearray(real_files[suffix])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    path = tmp_path / f"flipped{suffix}"
    path.write_bytes(bytes(data))
    load_or_refuse(path, tmp_path)

@settings(FUZZ, max_examples=60)
@given(text=st.text(min_size=1, max_size=300), junk=st.binary(min_size=1, max_size=20),
       suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_text_with_invalid_utf8(tmp_path, text, junk, suffix):
    path = tmp_path / f"mixed{suffix}"
    path.write_bytes(text.encode("utf-8") + b"\xff\xfe\xc3" + junk + text.encode("utf-8"))
    load_or_refuse(path, tmp_path)

@pytest.mark.parametrize("content", [b"", b" ", b"\n\n\n", b"\t \r\n \f", "\u00a0\u2003\n".encode()])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_empty_and_whitespace_only_files_are_refused(tmp_path, content, suffix):
    path = tmp_path / f"blank{suffix}"
    path.write_bytes(content)
    assert load_or_refuse(path, tmp_path) == "refused"

def test_a_50_mb_single_line_file_is_refused_quickly(tmp_path):
    path = tmp_path / "one-line.txt"
    with open(path, "wb") as handle:
        handle.write(b"ordet er her og der " * (50 * 2**20 // 20))
    with pytest.raises(IngestError, match=r"one-line\.txt: .*million characters"):
        load_document(path, tmp_path)
    assert load_or_refuse(path, tmp_path) == "refused"

@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_html(tmp_path, depth):
    path = tmp_path / "nested.html"
    path.write_text("<div>" * depth + "<p>Bunnen av dokumentet.</p>" + "</div>" * depth, encoding="utf-8")
    assert load_or_refuse(path, tmp_path) == "loaded"
    assert "Bunnen av dokumentet." in load_document(path, tmp_path)[0].text

def write_zip_bomb(path: Path, declared_honestly: bool) -> Path:
    """A .docx whose document.xml inflates to 400 MB of zeros (from about 400 kB).

    With `declared_honestly=False` the archive's directory claims 1 kB, as a crafted bomb would."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * 2**20
            for _ in range(400):
                member.write(block)
    if not declared_honestly:
        _forge_size(path, "word/document.xml", 1024)
    return path

def _forge_size(path: Path, name: str, size: int) -> None:
    """Rewrite a member's uncompressed size in the central directory, where zipfile reads it."""
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_length = int.from_bytes(data[entry + 28:entry + 30], "little")
        if data[entry + 46:entry + 46 + name_length] == name.encode():
            data[entry + 24:entry + 28] = size.to_bytes(4, "little")
            path.write_bytes(bytes(data))
            return
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{name} is not in {path}")

@pytest.mark.parametrize("declared_honestly", [True, False], ids=["declared", "forged-header"])
def test_docx_zip_bomb_is_refused(tmp_path, declared_honestly):
    path = write_zip_bomb(tmp_path / "bomb.docx", declared_honestly)
    assert path.stat().st_size < 2 * 2**20
    assert load_or_refuse(path, tmp_path) == "refused"

@pytest.mark.parametrize("content", [b"PK\x03\x04 but then nothing", b"%PDF-1.4 a pdf named docx",
                                     "Bare tekst, ikke Word.".encode()])
def test_docx_that_is_not_a_zip(tmp_path, content):
    path = tmp_path / "letter.docx"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=r"letter\.docx: not a \.docx"):
        load_document(path, tmp_path)

def test_symlinks_out_of_the_corpus_are_refused(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "secret"
    corpus.mkdir()
    outside.mkdir()
    (outside / "passwords.txt").write_text("Hemmelig passord: hunter2\n", encoding="utf-8")
    (corpus / "link.txt").symlink_to(outside / "passwords.txt")
    (corpus / "relative.md").symlink_to(Path("..") / "secret" / "passwords.txt")
    (corpus / "etc.txt").symlink_to("/etc/passwd")
    (corpus / "folder").symlink_to(outside, target_is_directory=True)
    (corpus / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    loaded = load_corpus(corpus)
    assert loaded.documents == []
    assert not any("hunter2" in problem.message or "root:" in problem.message for problem in loaded.problems)
    refused = {Path(p.path).name for p in loaded.problems if "outside the corpus folder" in p.message}
    assert {"link.txt", "relative.md", "etc.txt"} <= refused

def test_a_fifo_named_txt_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    assert load_or_refuse(tmp_path / "pipe.txt", tmp_path) == "refused"

def good_chunks(load) -> list:
    return [c for d in load.documents if d.source.startswith("good") for c in chunk_document(d)]

def test_good_documents_beside_bad_ones_load_unchanged(tmp_path, real_files):
    good, mixed = tmp_path / "good", tmp_path / "mixed"
    for folder in (good, mixed):
        folder.mkdir()
        for suffix, data in real_files.items():
            (folder / f"good{suffix}").write_bytes(data)
    bad = {"junk.pdf": os.urandom(3000), "cut.docx": real_files[".docx"][:700], "empty.md": b"",
           "latin.txt": b"\xff\xfe\x00\x00" * 100, "nested.html": b"<div>" * 50_000}
    for name, data in bad.items():
        (mixed / name).write_bytes(data)
    write_zip_bomb(mixed / "bomb.docx", declared_honestly=False)
    (mixed / "outside.txt").symlink_to(SEEDS / f"{OPED}.txt")
    alone, beside = load_corpus(good), load_corpus(mixed)
    assert len(alone.documents) == len(real_files) and not alone.problems
    assert [d.to_record() for d in beside.documents if d.source.startswith("good")] == \
           [d.to_record() for d in alone.documents]
    assert good_chunks(beside) == good_chunks(alone)
    failed = {Path(p.path).name for p in beside.problems if p.level == "error"}
    assert {"junk.pdf", "cut.docx", "empty.md", "bomb.docx", "outside.txt"} <= failed

def test_a_pdf_with_a_self_referencing_object_is_refused(tmp_path, real_files):
    """Found by the corrupted-files fuzzer: two zeroed bytes make pypdf raise LimitReachedError
    (not a PdfReadError) on an object that points at itself; it must end in a refusal."""
    data = bytearray(real_files[".pdf"])
    for where in (0.765625, 0.0390625):
        data[int(where * len(data))] = 0
    path = tmp_path / "loop.pdf"
    path.write_bytes(bytes(data))
    assert load_or_refuse(path, tmp_path) == "refused"
