"""Tables as text: one line per row, each cell named by its column's header.

A row read alone ("Fjellgrenda | 9 | 5") does not say what its figures are, and an answer
that quotes it cannot either. With its header it reads "Kommune: Fjellgrenda | Saker 2023: 9 |
Saker 2024: 5": the quote stands alone, and a question about cases in 2023 finds it. Every
loader that meets a table (Word, HTML, Markdown) hands its rows of cell texts to `table_lines`.
"""
from __future__ import annotations

import re

NUMBER = re.compile(r"^[-+−]?\d[\d\s.,]*\s*(%|‰|kr|NOK|prosent|percent)?$", re.IGNORECASE)
YEAR = re.compile(r"^(19|20)\d\d$")


def table_lines(rows: list[list[str]], has_header: bool | None = None) -> list[str]:
    """One line per row. Leading rows of one distinct text (a caption merged across the table)
    stand alone. The next row names the columns when `has_header` says so (Markdown, HTML <th>),
    or, when the format cannot tell (None), when it holds the column names of figures: every
    cell filled, none a figure, above a column of figures."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    lines: list[str] = []
    if has_header is None:
        captions = 0
        while captions < len(rows) and len(set(filter(None, rows[captions]))) == 1:
            captions += 1
        lines, rows = [_joined(row) for row in rows[:captions]], rows[captions:]
        has_header = bool(rows) and _names_columns(rows[0], rows[1:])
    header = None
    if has_header and len(rows) > 1:
        header, rows = rows[0], rows[1:]
    return lines + [line for line in (_joined(row, header) for row in rows) if line]


def _names_columns(first: list[str], rest: list[list[str]]) -> bool:
    rest = [row for row in rest if row != first]  # the header again, where the table breaks across pages
    if not rest or not all(first) or len(set(first)) < 2 or any(_figure(cell) for cell in first):
        return False
    columns = [[row[c] for row in rest if c < len(row) and row[c]] for c in range(len(first))]
    return any(column and all(map(_figure, column)) for column in columns)


def _figure(cell: str) -> bool:
    """A number in a cell; a year is not one in a header row ("2023" names a column), so a
    column of years under a year is not taken for a column of figures under its name."""
    return bool(NUMBER.match(cell)) and not YEAR.match(cell)


def _joined(row: list[str], header: list[str] | None = None) -> str:
    """The row's cells joined by " | ", each after its column name; a merged cell, which Word
    repeats in every column it spans, once."""
    names = (header or []) + [""] * (len(row) - len(header or []))
    cells, previous = [], None
    for name, text in zip(names, row):
        if text and (name, text) != previous and text != name:
            cells.append(f"{name}: {text}" if name and name != text else text)
        previous = (name, text)
    return " | ".join(cells)
