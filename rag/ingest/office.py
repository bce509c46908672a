"""PDF (text layer, via pypdf) and DOCX (via python-docx: paragraphs and table rows) to blocks."""
from __future__ import annotations

import logging
import re
import zipfile
import zlib
from pathlib import Path

from rag.errors import IngestError
from rag.ingest.blocks import HEADING, TEXT, Block, Parsed
from rag.ingest.plaintext import heading_rank
from rag.ingest.tables import as_cell_text, table_lines

# A .docx is a zip; refuse archives that would inflate past this (zip bombs).
MAX_DOCX_UNPACKED_BYTES = 200 * 1024 * 1024
HEADING_STYLE = re.compile(r"^(?:Heading|Overskrift)\s*(\d)$", re.IGNORECASE)
# pypdf's warnings ("invalid pdf header", "EOF marker not found") name no file and were printed on
# every status and update while a broken PDF lay in the corpus; its errors become ours, which do.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def parse_pdf(path: Path) -> Parsed:
    """Blocks from a PDF's text layer; lines are re-joined into paragraphs."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    # PyPdfError covers every pypdf refusal (a broken xref, a self-referencing object, ...).
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
        raise IngestError(f"{path}: not a readable PDF ({error}); re-export it or remove it") from error
    lines = [line.strip() for page in pages for line in page.split("\n")]
    if not any(lines):
        raise IngestError(f"{path}: the PDF has no text layer (scanned?); run OCR on it first")
    meta = {key: str(info.get(f"/{key.title()}")) for key in ("title", "author") if info.get(f"/{key.title()}")}
    return Parsed(_unwrap_lines(lines), meta)


def _unwrap_lines(lines: list[str]) -> list[Block]:
    """PDF text has a line break at every visual line: join lines into paragraphs."""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush():
        if paragraph:
            blocks.append(Block(TEXT, " ".join(paragraph)))
            paragraph.clear()

    for index, line in enumerate(lines):
        rank = heading_rank(line) if line else None
        ends_paragraph = not paragraph or paragraph[-1].endswith((".", "!", "?", "»", ":"))
        following = next((n for n in lines[index + 1:] if n), "")
        # A wrapped sentence continues in lower case on the next line; a heading does not.
        continues = following[:1].islower()
        if not line:
            flush()
        elif rank is not None and ends_paragraph and not continues:
            flush()
            blocks.append(Block(HEADING, line, rank))
        else:
            paragraph.append(line)
    flush()
    return blocks


def parse_docx(path: Path) -> Parsed:
    """Blocks from a Word document: heading styles map to heading ranks."""
    import docx

    _refuse_zip_bomb(path)
    try:
        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises many unrelated types for bad files
        raise IngestError(f"{path}: not a readable .docx ({error.__class__.__name__}: {error})") from error
    blocks = [block for item in document.iter_inner_content() for block in _docx_blocks(item)]
    props = document.core_properties
    meta = {k: v for k, v in (("title", props.title), ("author", props.author)) if v}
    return Parsed([b for b in blocks if b.text.strip()], meta)


def _docx_blocks(item) -> list[Block]:
    """A paragraph's block, or one block per row of a table: a report's figures are often only in
    its tables ("Kept their flat | 31"), which were left out."""
    from docx.table import Table

    if not isinstance(item, Table):
        return [_docx_block(item.style.name if item.style is not None else "", item.text)]
    return [Block(TEXT, line) for line in table_lines(_docx_rows(item))]


def _docx_rows(table) -> list[list[str | None]]:
    """The table's grid of cell texts; python-docx gives a cell merged across columns once per
    column (the same cell: None after the first), and leaves out a table nested in a cell
    (its rows follow the cell's text, "; " between them)."""
    rows = []
    for row in table.rows:
        cells, previous = [], None
        for cell in row.cells:
            same = previous is not None and cell._tc is previous._tc
            cells.append(None if same else "; ".join(filter(None, [cell.text.strip(), *_nested(cell)])))
            previous = cell
        rows.append(cells)
    return rows


def _nested(cell) -> list[str]:
    return [as_cell_text(table_lines(_docx_rows(table))) for table in cell.tables]


def _docx_block(style: str, text: str) -> Block:
    match = HEADING_STYLE.match(style or "")
    if style == "Title":
        return Block(HEADING, text.strip(), 0)
    if match:
        return Block(HEADING, text.strip(), int(match.group(1)))
    return Block(TEXT, text.strip())


def _refuse_zip_bomb(path: Path) -> None:
    """Inflate every member up to the limit: the sizes a zip declares can be forged."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = _unpacked_size(archive, MAX_DOCX_UNPACKED_BYTES)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
        raise IngestError(f"{path}: not a .docx (not a readable zip archive: {error}); re-save it from Word") from error
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise IngestError(
            f"{path}: unpacks to more than {MAX_DOCX_UNPACKED_BYTES // 2**20} MB, more than a document "
            "should (a zip bomb?); refusing it"
        )


def _unpacked_size(archive: zipfile.ZipFile, limit: int) -> int:
    """Bytes all members inflate to, counted until the total passes `limit`."""
    total = 0
    for member in archive.infolist():
        total += _inflated_size(archive, member, limit + 1 - total)
        if total > limit:
            break
    return total


def _inflated_size(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> int:
    """Bytes the member really inflates to, counted up to `limit`."""
    size = 0
    with archive.open(member) as stream:
        while size < limit and (block := stream.read(2**20)):
            size += len(block)
    return size
