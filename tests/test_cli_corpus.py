"""`rag docs` and `rag chunks` print the documented JSON shapes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, REPORT, SEEDS

from rag.cli import main


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_docs_json_shape(capsys):
    docs = run_json(capsys, "docs", "--json", "--corpus", str(SEEDS))
    assert {d["source"] for d in docs} == {"000_3c243a1dc653bf97.txt", "001_c462c3b4caaabb4f.txt"}
    report = next(d for d in docs if d["id"] == REPORT)
    assert set(report) == {"id", "title", "source", "meta", "text", "sections", "footnotes"}
    assert report["sections"][0] == {"path": [report["title"]], "start": 0, "end": report["sections"][0]["end"]}
    assert [f["n"] for f in report["footnotes"]] == [76, 77, 78]
    assert set(report["footnotes"][0]) == {"n", "text", "section_path"}


def test_chunks_json_text_is_exact_span(capsys):
    docs = {d["id"]: d for d in run_json(capsys, "docs", "--json", "--corpus", str(SEEDS))}
    chunks = run_json(capsys, "chunks", "--json", "--corpus", str(SEEDS))
    assert len(chunks) > 40
    for chunk in chunks:
        assert {"id", "doc_id", "source", "title", "section_path", "text", "start", "end", "tokens"} <= set(chunk)
        assert docs[chunk["doc_id"]]["text"][chunk["start"]:chunk["end"]] == chunk["text"]


def test_readable_tree_and_missing_corpus_error(tmp_path):
    tree = subprocess.run([sys.executable, "-m", "rag", "docs"], cwd=REPO, capture_output=True, text=True)
    assert tree.returncode == 0 and "    Tiltak mot opplevd stigma og diskriminering" in tree.stdout
    missing = subprocess.run([sys.executable, "-m", "rag", "docs", "--corpus", str(tmp_path / "nope")],
                             cwd=REPO, capture_output=True, text=True)
    assert missing.returncode == 1 and "corpus folder not found" in missing.stderr


def test_ask_refuses_no_sources_and_lists_each_source_once(capsys):
    """`--k 0` was taken silently as the default; each quote repeated its source's heading and was
    wrapped in guillemets of its own («««Vi er ...»)."""
    from rag.cli.ask import readable
    from rag.types import Answer, Citation

    with pytest.raises(SystemExit) as exit_code:
        main(["ask", "--k", "0", "what did the police say?"])
    assert exit_code.value.code == 2 and "0 is too small; give 1 or more" in capsys.readouterr().err
    quotes = [Citation(1, "c", "d", "T", ("T", "Politi"), quote, 0, 1) for quote in ("«Vi er et kontrollorgan.»", "Ja.")]
    lines = readable(Answer("q", "Politi sier: «Vi er et kontrollorgan.» [1] Ja. [1]", "no", False, "extractive",
                            quotes)).splitlines()
    assert lines[-3:] == ["[1] T > Politi", "    «Vi er et kontrollorgan.»", "    Ja."]


def test_a_question_without_words_is_refused_and_a_batch_is_checked_before_it_is_answered(tmp_path, capsys):
    """"???" was answered with the passages closest to nothing; a batch answered the lines above a bad
    one, then stopped."""
    assert main(["ask", "???"]) == 1
    assert "the question '???' has no words in it" in capsys.readouterr().err
    assert main(["ask", "²"]) == 1 and "has no words in it" in capsys.readouterr().err
    batch = tmp_path / "questions.jsonl"
    batch.write_text('{"id": "a", "q": "what did the police say?"}\n{"id": "b", "q": " ?! "}\n[1]\n{"id": "d"}\n')
    assert main(["ask", "--batch", str(batch)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and f"{batch}:2: the question '?!' has no words in it" in captured.err
    assert f'{batch}:3: expected an object with "id" and "q"; {batch}:4: expected' in captured.err
    batch.write_text("\n")
    assert main(["ask", "--batch", str(batch)]) == 1 and "no questions in it" in capsys.readouterr().err
