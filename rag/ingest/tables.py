"""Tables as text: one line per row, each cell named by its column's header.

A row read alone ("Fjellgrenda | 9 | 5") does not say what its figures are, and an answer
that quotes it cannot either. With its header it reads "Kommune: Fjellgrenda | Saker 2023: 9 |
Saker 2024: 5": the quote stands alone, and a question about cases in 2023 finds it. Every
loader that meets a table (Word, HTML, Markdown) hands its rows to `table_lines`, as the grid
the table draws: a cell merged across columns is its text, then None in each column it covers.

A wrong column name misquotes a figure, a missing one only leaves it bare, so where the format
does not mark its header rows (Word) one is guessed only when there is no doubt (`_names_columns`).
"""
from __future__ import annotations

import re

Row = list  # of str, or None where the cell to the left spans this column too

FIGURE = re.compile(r"^(?:kr\.?|nok|ca\.?|about|approx\.?|~|≈|<|>|≤|≥)?\s*[-+−]?\d[\d\s.,]*\s*"
                    r"(?:%|‰|kr|nok|mill\.?|mrd\.?|prosent|percent|\*+)?$", re.IGNORECASE)
YEAR = re.compile(r"^(19|20)\d\d$")
MISSING = {"-", "–", "—", "..", "...", "…", "n/a", "na", "x", "*"}  # a figure not given
# Two columns are as often a list of names and values ("Prosecutor | Kari Nordmann", "Cases | 212")
# as a table under a header: its first row is never guessed to be one.
MIN_GUESSED_COLUMNS = 3


def table_lines(rows: list[Row], header_rows: int | None = None) -> list[str]:
    """One line per row. `header_rows`: how many leading rows name the columns (the format says:
    Markdown's first, HTML's rows of <th>), or None to judge: then leading rows of a single text
    (a caption across the table) stand alone, and the next row names the columns when it holds
    the names of figures."""
    rows = [[None if cell is None else " ".join(cell.split()) for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    lines: list[str] = []
    if header_rows is None:
        captions = 0
        while captions < len(rows) and len({cell for cell in rows[captions] if cell}) == 1:
            captions += 1
        lines, rows = [_joined(row) for row in rows[:captions]], rows[captions:]
        header_rows = _guessed_header_rows(rows)
    header_rows = min(header_rows, len(rows) - 1) if len(rows) > 1 else 0
    names = _column_names(rows[:header_rows])
    return lines + [line for line in (_joined(row, names) for row in rows[header_rows:]) if line]


def _guessed_header_rows(rows: list[Row]) -> int:
    """1 when the first row names the columns, 2 when it groups them over a second row that does
    ("Saker" across "2023" and "2024"), else 0."""
    if rows and _names_columns(rows[:1], rows[1:]):
        return 1
    grouped = len(rows) > 1 and None in rows[0][1:]
    return 2 if grouped and _names_columns(rows[:2], rows[2:]) else 0


def as_cell_text(lines: list[str]) -> str:
    """A table nested in a cell, as that cell's text: rows "; " apart and cells ", " (" | " parts
    the outer table's cells)."""
    return "; ".join(line.replace(" | ", ", ") for line in lines)


def _names_columns(header: list[Row], rest: list[Row]) -> bool:
    """Do the `header` rows name the columns: three or more, each named (but a corner cell, or one
    a merged name spans), none a figure, above a column of figures?"""
    rest = [row for row in rest if row not in header]  # the header again, where a table breaks across pages
    for row in header:
        names = [cell for cell in (row[1:] if row and row[0] == "" else row) if cell is not None]
        if len(row) < MIN_GUESSED_COLUMNS or not all(names) or len(set(names)) < 2 or any(map(_figure, names)):
            return False
    columns = [[row[c] for row in rest if c < len(row) and row[c] and row[c].lower() not in MISSING]
               for c in range(1, len(header[-1]))]
    return bool(rest) and any(column and all(map(_figure, column)) for column in columns)


def _figure(cell: str) -> bool:
    """A number in a cell ("12 400", "kr 4 100 000", "ca. 9", "62 %"); a year is not one, so
    the years that name columns ("2023") do not read as a row of figures."""
    return bool(FIGURE.match(cell)) and not YEAR.match(cell)


def _column_names(header: list[Row]) -> list[str]:
    """Each column's name: the texts of the header rows above it, a merged one over every column
    it spans ("Seizures" over "Cannabis" and "Cocaine": "Seizures Cannabis")."""
    width = max((len(row) for row in header), default=0)
    names = [[] for _ in range(width)]
    for row in header:
        text = ""
        for column, cell in enumerate(row):
            text = text if cell is None else cell
            if text and text not in names[column]:
                names[column].append(text)
    return [" ".join(parts) for parts in names]


def _joined(row: Row, names: list[str] | None = None) -> str:
    """The row's cells joined by " | ", each after the names of the columns it spans; a cell that
    repeats its column's name (a header row repeated in the body) is left out."""
    names = (names or []) + [""] * (len(row) - len(names or []))
    cells: list[str] = []
    for column, text in enumerate(row):
        if text is None:
            continue
        spanned = column + 1
        while spanned < len(row) and row[spanned] is None:
            spanned += 1
        name = ", ".join(dict.fromkeys(n for n in names[column:spanned] if n))
        if text and text != name:
            cells.append(f"{name}: {text}" if name else text)
    return " | ".join(cells)
