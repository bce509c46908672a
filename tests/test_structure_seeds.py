"""The seed documents come out with their real structure, metadata and footnotes."""
from __future__ import annotations

import re

from conftest import OPED, REPORT

CHAPTER = "4. Hva sier tjenestene og brukerorganisasjonene om stigma og diskriminering?"
GROUPS = {
    "Brukerorganisasjoner: Generalisering, straffepolitikk og kulturell forankring": [
        "Eksempler på opplevd stigma og diskriminering",
        "Mulige årsaker",
        "Tiltak mot opplevd stigma og diskriminering",
    ],
    "Helsepersonell: Etiske dilemmaer, kunnskapsmangel og ulik virkelighetsforståelse": [
        "Etiske dilemmaer og medisinsk forsvarlighet",
        "Kunnskapsmangel og språkbruk",
        "Virkelighetsforståelse og kommunikasjon",
        "Tid og ressurser",
        "Tiltak mot opplevd stigma og diskriminering",
    ],
    "Politi: Ressursmangel, politiets mandat og kommunikasjonsutfordringer": [
        "Manglende tid og ressurser",
        "Politiets mandat til å bekjempe kriminalitet og opprettholde ro og orden",
        "Kommunikasjonsutfordringer",
        "Tiltak mot opplevd stigma og diskriminering",
    ],
}
FURNITURE = ["Rabattkoder", "kickback", "Pluss content", "Fra andre aviser", "LES OGSÅ", "Foto:"]


def test_report_section_tree_is_nested(seed_documents):
    report = seed_documents[REPORT]
    expected = [(CHAPTER,)]
    for group, subsections in GROUPS.items():
        expected.append((CHAPTER, group))
        expected.extend((CHAPTER, group, sub) for sub in subsections)
    assert [s.path for s in report.sections] == expected
    assert sum(len(subs) for subs in GROUPS.values()) == 12


def test_report_sections_nest_by_span(seed_documents):
    report = seed_documents[REPORT]
    by_path = {s.path: s for s in report.sections}
    for section in report.sections:
        if len(section.path) > 1:
            parent = by_path[section.path[:-1]]
            assert parent.start <= section.start and section.end <= parent.end
        assert report.text[section.start:].startswith(section.heading)


def test_three_measures_sections_have_distinct_paths(seed_documents):
    measures = [s.path for s in seed_documents[REPORT].sections
                if s.heading == "Tiltak mot opplevd stigma og diskriminering"]
    assert len(measures) == 3 and len(set(measures)) == 3
    assert {p[1].split(":")[0] for p in measures} == {"Brukerorganisasjoner", "Helsepersonell", "Politi"}


def test_oped_title_sections_and_authors(seed_documents):
    oped = seed_documents[OPED]
    assert oped.title == "Mer tilbud, ikke mindre politi"
    assert [s.heading for s in oped.sections] == [
        "Mer tilbud, ikke mindre politi", "Medisinsk behandling og omsorg", "Suksessfaktorer", "Bortvisning"]
    assert oped.meta["authors"] == ["Thomas Clausen", "Helge Waal"]
    assert "SERAF" in oped.meta["affiliation"]
    assert oped.meta["publication"] == "VG" and oped.meta["genre"] == "kronikk"


def test_oped_byline_stays_searchable(seed_chunks):
    assert any("Thomas Clausen og Helge Waal" in c.text for c in seed_chunks)


def test_no_page_furniture_in_indexed_text(seed_documents, seed_chunks):
    for marker in FURNITURE:
        assert marker not in seed_documents[OPED].text
        assert not [c.id for c in seed_chunks if marker in c.text], marker


def test_footnotes_are_lifted_whole(seed_documents):
    notes = {f.n: f for f in seed_documents[REPORT].footnotes}
    assert sorted(notes) == [76, 77, 78]
    assert notes[76].text == ("Helsedirektoratet, Nasjonal faglig retningslinje for utredning, behandling og "
                              "oppfølging av personer med samtidig ruslidelse og psykisk lidelse – ROP-lidelser "
                              "(2012, oppdatert 2022).")
    assert notes[77].text == ("Helsedirektoratet, Førerkortveileder, Veileder til lov og forskrift "
                              "(2020, oppdatert 2023), pkt. 14.")
    assert notes[78].text.startswith("«Komorbiditet» er et begrep")
    assert notes[78].text.endswith("Se Store norske leksikon, Komorbiditet, 14.12.2023.")
    assert notes[76].section_path[-1] == "Eksempler på opplevd stigma og diskriminering"
    assert notes[78].section_path[-1] == "Etiske dilemmaer og medisinsk forsvarlighet"


def test_body_reads_cleanly_without_footnotes(seed_documents):
    text = seed_documents[REPORT].text
    assert "behandles for begge lidelsene. Her mener fokusgruppedeltakerne" in text
    assert "innleggelse i rusinstitusjon. Veilederen sier samtidig" in text
    assert "Det synes jeg er forferdelig vanskelig.»\n\n" in text


def test_footnotes_are_chunks_and_no_marker_is_glued(seed_chunks):
    footnote_chunks = [c for c in seed_chunks if c.kind == "footnote"]
    assert len(footnote_chunks) == 3
    assert any("Førerkortveileder" in c.text for c in footnote_chunks)
    glued = re.compile(r"[.!?][»”]?\d{1,3}[«A-ZÆØÅ]")
    assert not [c.text for c in seed_chunks if glued.search(c.text)]
    body = [c for c in seed_chunks if c.kind == "body"]
    assert not [c.id for c in body if "Førerkortveileder, Veileder til lov" in c.text]
