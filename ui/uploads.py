"""Checks on documents added in the browser or through the API, before they touch the corpus.

Each upload is judged on its own: a safe file name (no folders, not hidden, a supported
extension, no overwrite unless asked), a size within the limit, content that matches the
extension, and text the loader can read. Accepted files are written atomically into the
corpus folder (a hidden temporary file there, then a rename), so the indexer never sees half
a file; a refusal names the file and the reason.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import IngestError
from rag.ingest import SUPPORTED, load_document

# Longer names break on some file systems (255 bytes) once a temporary prefix is added.
MAX_NAME_BYTES = 200
# Sniffing reads this much of a file; the loader reads the rest.
HEAD_BYTES = 8192
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
HTML_TAG = re.compile(rb"<\s*(!doctype|html|head|body|title|meta|p|div|h[1-6]|table|ul|ol|article|section)\b",
                      re.IGNORECASE)
# Magic numbers of formats people mistake for documents (executables, archives, images, PDFs).
BINARY_MAGIC = (b"%PDF-", b"PK\x03\x04", b"MZ", b"\x7fELF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\xd0\xcf\x11\xe0")
# A temporary file starts with a dot: the loader skips hidden files, so one left by a crash is never indexed.
TEMP_PREFIX = ".upload-"


class Refused(Exception):
    """An upload that may not enter the corpus; the message is the reason, for the user."""


@dataclass(frozen=True)
class Upload:
    """One file to add: the name the user gave it and where the server holds its bytes."""

    name: str
    path: Path


@dataclass(frozen=True)
class Verdict:
    """What became of one upload: stored under `stored_as`, or refused for `reason`."""

    name: str
    accepted: bool
    reason: str = ""
    stored_as: str = ""
    replaced: bool = False

    def message(self) -> str:
        if not self.accepted:
            return f"{self.name}: refused, {self.reason}"
        return f"{self.name}: {'replaced' if self.replaced else 'added'} as {self.stored_as}"

    def to_json(self) -> dict:
        return {"name": self.name, "accepted": self.accepted, "reason": self.reason, "stored_as": self.stored_as,
                "replaced": self.replaced}


def store_uploads(uploads: list[Upload], corpus_dir: Path, max_bytes: int, replace: bool = False) -> list[Verdict]:
    """Check each upload and write the accepted ones into `corpus_dir`; one verdict per upload, in order."""
    verdicts = []
    for upload in uploads:
        try:
            verdicts.append(_store(upload, Path(corpus_dir), max_bytes, replace))
        except Refused as refusal:
            verdicts.append(Verdict(upload.name, False, str(refusal)))
    return verdicts


def _store(upload: Upload, corpus_dir: Path, max_bytes: int, replace: bool) -> Verdict:
    name = safe_name(upload.name)
    target = corpus_target(corpus_dir, name)
    existed = target.exists() or target.is_symlink()
    if existed and not replace:
        raise Refused(f"a document named {name} is already in the corpus; tick 'replace' to overwrite it")
    check_size(upload.path, max_bytes)
    check_content(name, upload.path)
    check_readable(name, upload.path)
    write_atomically(upload.path, target)
    return Verdict(upload.name, True, stored_as=name, replaced=existed)


def safe_name(name: str) -> str:
    """The file name to store an upload under; Refused when it has folders, is hidden, empty or unsupported.

    Names with folder parts are refused rather than trimmed: "../../etc/x.txt" is an attack or
    a mistake either way, and silently storing "x.txt" would hide both.
    """
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise Refused("the file has no name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise Refused("the name contains folder parts; upload the file itself, named without a path")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise Refused("the name contains control characters")
    if name.startswith("."):
        raise Refused("hidden files (names starting with '.') are not indexed")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise Refused(f"the name is longer than {MAX_NAME_BYTES} bytes")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise Refused(f"{suffix or 'no extension'} is not a supported type ({', '.join(sorted(SUPPORTED))})")
    return name


def corpus_target(corpus_dir: Path, name: str) -> Path:
    """`corpus_dir / name`, checked to land directly in the corpus folder (a last guard against traversal)."""
    target = corpus_dir / name
    if target.resolve().parent != corpus_dir.resolve():
        raise Refused("the name points outside the corpus folder")
    return target


def check_size(path: Path, max_bytes: int) -> None:
    """Refused for an empty file or one larger than `max_bytes`."""
    size = Path(path).stat().st_size
    if size == 0:
        raise Refused("the file is empty (0 bytes)")
    if size > max_bytes:
        raise Refused(f"{size / 2**20:.1f} MB is more than the {max_bytes / 2**20:g} MB limit (upload_max_mb)")


def check_content(name: str, path: Path) -> None:
    """Refused when the bytes are not what the extension says (a renamed executable, a .pdf that is text)."""
    suffix = Path(name).suffix.lower()
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if suffix == ".pdf" and b"%PDF-" not in head[:1024]:
        raise Refused("the content is not a PDF (no %PDF- header)")
    if suffix == ".docx" and not _is_word_document(path):
        raise Refused("the content is not a Word .docx document (not a zip with word/document.xml)")
    if suffix in TEXT_SUFFIXES | HTML_SUFFIXES:
        _check_text(head)
    if suffix in HTML_SUFFIXES and not HTML_TAG.search(head):
        raise Refused("the content is not HTML (no HTML tags at the start)")


def _is_word_document(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _check_text(head: bytes) -> None:
    if head.startswith(BINARY_MAGIC):
        raise Refused("the content is a binary file, not text")
    # UTF-16 text has NULs in every other byte; its BOM says so, and the loader reads it.
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused("the content is binary (it contains NUL bytes), not text")


def check_readable(name: str, path: Path) -> None:
    """Refused when the loader cannot get text out of the file (a scanned PDF, a broken .docx)."""
    with tempfile.TemporaryDirectory(prefix="rag-upload-check-") as folder:
        # A copy under its own name, so the loader picks the parser of the checked extension.
        probe = Path(folder) / name
        shutil.copyfile(path, probe)
        try:
            load_document(probe, Path(folder))
        except IngestError as error:
            raise Refused(_without_path(str(error), probe)) from None
        except Exception as error:  # a parser bug on one odd file is a refusal, not a crash
            raise Refused(f"the file cannot be read ({error.__class__.__name__})") from None


def _without_path(message: str, path: Path) -> str:
    """The loader's message without the temporary path it starts with."""
    return message.removeprefix(f"{path}: ")


def write_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a hidden temporary file in the target's folder, then rename."""
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=TEMP_PREFIX, delete=False)
    try:
        with handle, open(source, "rb") as data:
            shutil.copyfileobj(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # NamedTemporaryFile makes it private; the corpus files are not
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
