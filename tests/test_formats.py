"""Every supported format loads into the same section tree; bad files get clear errors."""
from __future__ import annotations

import shutil

from conftest import OPED, SEEDS
from documents import PDF_LINES, write_docx, write_html, write_markdown, write_pdf

from rag.index.chunking import chunk_document
from rag.ingest import load_corpus, load_document
from rag.ingest.tables import table_lines


def paths(document):
    return [s.path for s in document.sections]


def test_markdown_headings_nest(tmp_path):
    document, _ = load_document(write_markdown(tmp_path / "reform.md"))
    assert paths(document) == [("Rusreform",), ("Rusreform", "Politi"), ("Rusreform", "Politi", "Tiltak"),
                               ("Rusreform", "Helse")]
    assert "Politihøgskolen" in document.text


def test_html_headings_and_no_markup_or_script(tmp_path):
    document, _ = load_document(write_html(tmp_path / "rapport.html"))
    assert paths(document) == [("Rapport om stigma",), ("Rapport om stigma", "Politi"),
                               ("Rapport om stigma", "Helse")]
    assert "Politiet har for lite tid." in document.text and "Punkt to" in document.text
    for absent in ("alert", "color:red", "<b>", "Meny", "Kontakt oss"):
        assert absent not in document.text
    assert "Innledning & bakgrunn." in document.text


def test_docx_heading_styles_and_properties(tmp_path):
    document, _ = load_document(write_docx(tmp_path / "notat.docx"))
    assert paths(document) == [("Notat om LAR",), ("Notat om LAR", "Tilgang"), ("Notat om LAR", "Kostnader")]
    assert document.meta["author"] == "Kari Nordmann"


def test_docx_tables_are_read_in_place_row_by_row(tmp_path):
    """The figures in a Word table were missing from the text: "31 of 40 kept their flat" was not found."""
    import docx

    path = tmp_path / "pilot.docx"
    word = docx.Document()
    word.add_heading("Riverside pilot", level=1)
    word.add_paragraph("The results were clear.")
    table = word.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Measure", "Tenants"), ("Moved in", "40"), ("Kept their flat", "31")]):
        row.cells[0].text, row.cells[1].text = cells
    table.rows[0].cells[0].merge(table.rows[0].cells[1]).text = "Riverside, 2023"
    word.add_paragraph("Support visits should be weekly.")
    word.save(path)
    document, _ = load_document(path)
    text = document.text
    assert "Riverside, 2023\n" in text and "Kept their flat | 31" in text and "Moved in | 40" in text
    assert text.index("The results were clear.") < text.index("Moved in | 40") < text.index("Support visits")


def test_a_table_row_names_its_columns_in_every_format(tmp_path):
    """A row was quoted without its header ("Fjellgrenda | 9 | 5"): the answer could not say what
    its figures were. Word (a header guessed from a row of names above figures), HTML (<th>, with a
    caption and cells HTML lets end where the next begins) and Markdown pipe tables."""
    import docx

    rows = [("Kommune", "Saker 2023", "Saker 2024"), ("Fjellgrenda", "9", "5"), ("Elvebyen", "12", "7")]
    word = docx.Document()
    word.add_heading("Saker", level=1)
    table = word.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, rows):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    word.save(tmp_path / "saker.docx")
    (tmp_path / "saker.html").write_text(
        "<h1>Saker</h1><table><caption>Saker per kommune</caption><thead><tr><th>Kommune<th>Saker 2023"
        "<th>Saker 2024</thead><tr><td>Fjellgrenda<td>9<td>5<tr><td><p>Elvebyen</p><td>12<td>7</table>"
        "<p>Tallene er foreløpige.</p>")
    (tmp_path / "saker.md").write_text(
        "# Saker\n\n| Kommune | Saker 2023 | Saker 2024 |\n|---|--:|--:|\n| Fjellgrenda | 9 | 5 |\n"
        "| Elvebyen | 12 | 7 |\n\nTallene er foreløpige.\n")
    for name in ("saker.docx", "saker.html", "saker.md"):
        text = load_document(tmp_path / name)[0].text
        assert "Kommune: Fjellgrenda | Saker 2023: 9 | Saker 2024: 5\n" in text, name
        assert "Kommune: Elvebyen | Saker 2023: 12 | Saker 2024: 7" in text, name
        assert "Kommune | Saker" not in text, name
    html = load_document(tmp_path / "saker.html")[0].text
    assert html.index("Saker per kommune") < html.index("Fjellgrenda") < html.index("Tallene er foreløpige.")


def test_a_table_is_given_column_names_only_where_rows_name_them():
    """A wrong name misquotes a figure: a list of names and values ("Prosecutor | Kari Nordmann") is no
    table under a header, nor is a row of figures, a table of text or a caption; a header repeated where
    a table breaks across pages is no row. A merged cell spans the columns it covers (None)."""
    assert table_lines([["Prosecutor", "Kari Nordmann"], ["Cases handled", "212"]]) == [
        "Prosecutor | Kari Nordmann", "Cases handled | 212"]
    assert table_lines([["Tiltak", "Ansvar", "Frist"], ["Lavterskel", "Kommunen", "mars"]]) == [
        "Tiltak | Ansvar | Frist", "Lavterskel | Kommunen | mars"]
    assert table_lines([["Riverside, 2023", None, None], ["Kommune", "2023", "2024"], ["Oslo", "4", "–"],
                        ["Kommune", "2023", "2024"], ["Bergen", "1 200", "ca. 9"]]) == [
        "Riverside, 2023", "Kommune: Oslo | 2023: 4 | 2024: –", "Kommune: Bergen | 2023: 1 200 | 2024: ca. 9"]
    assert table_lines([["", "2022", "2023"], ["Overdoser", "250", "260*"]]) == ["Overdoser | 2022: 250 | 2023: 260*"]
    assert table_lines([["Gruppe", "Saker", None], ["Gruppe", "2023", "2024"], ["Unge", "6", "9"]]) == [
        "Gruppe: Unge | Saker 2023: 6 | Saker 2024: 9"]
    assert table_lines([["Reaction", "Under 18", "18-25", "Over 25"], ["Dropped", "not recorded", None, "9"]], 1) == [
        "Reaction: Dropped | Under 18, 18-25: not recorded | Over 25: 9"]
    assert table_lines([["Tiltak", "Kostnad", "Kostnad", "Brukere"], ["Team", "2 900", "2 900", "185"]]) == [
        "Tiltak: Team | Kostnad: 2 900 | Kostnad: 2 900 | Brukere: 185"]


def test_merged_spanning_and_nested_cells_keep_their_columns(tmp_path):
    """HTML colspan and rowspan moved figures under the wrong column; Word dropped a figure equal to
    the one before it, and a table nested in a cell; Markdown split a cell at an escaped pipe and
    left a table right under a line of text raw."""
    import docx

    (tmp_path / "reaksjoner.html").write_text(
        "<table><tr><th rowspan=2>District<th colspan=2>Seizures<tr><th>Cannabis<th>Cocaine"
        "<tr><td>North<td>52<td>3<tr><td>Harbour<td colspan=2>not recorded</table>"
        "<table><tr><th>Course<th>Details<tr><td>MI<td><table><tr><td>Days<td>2</table></table>")
    text = load_document(tmp_path / "reaksjoner.html")[0].text
    assert "District: North | Seizures Cannabis: 52 | Seizures Cocaine: 3\n" in text
    assert "District: Harbour | Seizures Cannabis, Seizures Cocaine: not recorded\n" in text
    assert "Course: MI | Details: Days, 2" in text
    word = docx.Document()
    table = word.add_table(rows=3, cols=4)
    for row, cells in zip(table.rows, [("Team", "Budget 2024", "Budget 2025", "Clients"),
                                       ("Outreach", "2 900 000", "2 900 000", "185"), ("Survey", "", "", "")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    inner = table.rows[2].cells[1].merge(table.rows[2].cells[3]).add_table(rows=1, cols=2)
    inner.rows[0].cells[0].text, inner.rows[0].cells[1].text = "Good", "23 %"
    word.save(tmp_path / "budget.docx")
    text = load_document(tmp_path / "budget.docx")[0].text
    assert "Team: Outreach | Budget 2024: 2 900 000 | Budget 2025: 2 900 000 | Clients: 185" in text
    assert "Team: Survey | Budget 2024, Budget 2025, Clients: Good, 23 %" in text
    (tmp_path / "plan.md").write_text("Tiltakene:\n| Tiltak | Ansvarlig | Frist |\n|---|---|---|\n"
                                      "| Opplæring i \\| MI | NAV | 1. juni 2025 |\nDet var alt.\n")
    text = load_document(tmp_path / "plan.md")[0].text
    assert "Tiltakene:" in text and "|---|" not in text and "Det var alt." in text
    assert "Tiltak: Opplæring i | MI | Ansvarlig: NAV | Frist: 1. juni 2025" in text


def test_a_table_row_and_an_ordinal_date_are_one_sentence():
    """"1. kvartal 2024 | ... | 9" was quoted as "kvartal 2024 | ... | 9" (the quarter cut off), and a
    cell ending in "?" cut its row in two."""
    from rag.index.chunking import sentence_spans

    text = ("Kvartal: 1. kvartal 2024 | Beslag: 12\n\nSpørsmål: Hvordan opplever du politiet? | Svar: 62 %\n\n"
            "Planen ble vedtatt 12. juni 2024. Den gjelder fra i år. Tallet var 2023. Neste år mer.")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Kvartal: 1. kvartal 2024 | Beslag: 12", "Spørsmål: Hvordan opplever du politiet? | Svar: 62 %",
        "Planen ble vedtatt 12. juni 2024.", "Den gjelder fra i år.", "Tallet var 2023.", "Neste år mer."]


def test_pdf_text_layer_with_headings(tmp_path):
    document, _ = load_document(write_pdf(tmp_path / "tiltak.pdf", PDF_LINES))
    assert paths(document) == [("Tiltak i kommunene",), ("Tiltak i kommunene", "Oppfølging")]
    assert "Kommunene må tilby flere boliger til personer med rusavhengighet." in document.text


def test_bad_files_get_clear_errors_and_the_rest_load(tmp_path):
    write_markdown(tmp_path / "good.md")
    write_pdf(tmp_path / "good.pdf", PDF_LINES)
    (tmp_path / "junk.pdf").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n \t\n")
    (tmp_path / "notzip.docx").write_bytes(b"this is not a zip")
    (tmp_path / "latin1.txt").write_bytes("Overskrift\n\nFørerkort og rusbehandling på sykehuset.".encode("cp1252"))
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    loaded = load_corpus(tmp_path)
    assert sorted(d.source for d in loaded.documents) == ["good.md", "good.pdf", "latin1.txt"]
    messages = {p.path.rsplit("/", 1)[-1]: (p.level, p.message) for p in loaded.problems}
    assert messages["junk.pdf"][0] == "error" and "junk.pdf" in messages["junk.pdf"][1]
    assert "empty" in messages["empty.txt"][1] and "empty" in messages["blank.md"][1]
    assert "not a .docx" in messages["notzip.docx"][1]
    assert messages["latin1.txt"][0] == "warning" and "not valid UTF-8" in messages["latin1.txt"][1]
    assert messages["picture.png"] == ("warning", f"{tmp_path / 'picture.png'}: skipped, unsupported file type")
    latin = next(d for d in loaded.documents if d.source == "latin1.txt")
    assert "Førerkort" in latin.text


def test_utf8_bom_is_removed(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfTittel\n\nTekst her.")
    document, warnings = load_document(tmp_path / "bom.txt")
    assert document.title == "Tittel" and not warnings and not document.text.startswith("\ufeff")


def test_symlink_outside_corpus_is_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("Hemmelig\n\nIkke les meg.")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "link.txt").symlink_to(outside)
    loaded = load_corpus(corpus)
    assert not loaded.documents and "outside the corpus" in loaded.problems[0].message


def test_chunk_ids_survive_an_edit_in_another_section(tmp_path):
    source = (SEEDS / f"{OPED}.txt").read_text(encoding="utf-8")
    shutil.copy(SEEDS / f"{OPED}.txt", tmp_path / "a.txt")
    before = {c.section_path: c.id for c in chunk_document(load_document(tmp_path / "a.txt")[0])}
    edited = source.replace("Bortvisning\n\n", "Bortvisning\n\nEn ny innledende setning.\n\n")
    (tmp_path / "a.txt").write_text(edited, encoding="utf-8")
    after = chunk_document(load_document(tmp_path / "a.txt")[0])
    unchanged = [c for c in after if c.section_path[-1] == "Medisinsk behandling og omsorg"]
    assert unchanged and all(before.get(c.section_path) in {x.id for x in unchanged} for c in unchanged)


def test_a_stray_byte_in_utf8_keeps_the_rest_of_the_text(tmp_path):
    sentence = "Blåbærsyltetøy på brødskiva gjør små og store glade i Ørsta og Åsane. "
    text = "Tiltak på tvers\n\n" + sentence * 30
    data = text.encode("utf-8")
    offset = data.index(b" glade", len(data) // 2)
    (tmp_path / "stray.txt").write_bytes(data[:offset] + b"\xff" + data[offset:])
    document, warnings = load_document(tmp_path / "stray.txt")
    assert document.text.count("Blåbærsyltetøy på brødskiva") == 30 and "Ã" not in document.text
    assert document.text.count("\ufffd") == 1 and "gjør små og store\ufffd glade" in document.text
    assert warnings == [f"{tmp_path / 'stray.txt'}: not valid UTF-8 at byte {offset}; "
                        "read as UTF-8 with that byte replaced (U+FFFD)"]
    # A Windows-1252 file is invalid UTF-8 at nearly every æøå: still read as Windows-1252.
    (tmp_path / "ansi.txt").write_bytes(text.encode("cp1252"))
    document, warnings = load_document(tmp_path / "ansi.txt")
    assert document.text.count("Blåbærsyltetøy på brødskiva") == 30 and "read as cp1252" in warnings[0]


def test_a_broken_pdf_gets_one_error_naming_it_and_no_anonymous_warnings(tmp_path, caplog, capsys):
    """pypdf's "invalid pdf header" and "EOF marker not found" were printed without a file name."""
    (tmp_path / "junk.pdf").write_bytes(b"not a pdf " * 20)
    with caplog.at_level("WARNING"):
        loaded = load_corpus(tmp_path)
    assert [p.path.endswith("junk.pdf") for p in loaded.problems] == [True]
    assert "junk.pdf" in loaded.problems[0].message
    printed = caplog.text + "".join(capsys.readouterr())
    assert "invalid pdf header" not in printed and "EOF marker" not in printed
