"""The built wheel carries what `rag eval` needs, and works outside the checkout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from the checkout (no dependencies fetched)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    return next(out.glob("rag-*.whl"))


def test_wheel_ships_suites_seeds_and_benchmarks(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "rag/eval/data/seeds_questions.jsonl", "rag/eval/data/seeds_unanswerable.jsonl",
        "rag/eval/data/planted_instructions.jsonl", "rag/eval/data/seeds/000_3c243a1dc653bf97.txt",
        "rag/eval/data/seeds/001_c462c3b4caaabb4f.txt", "rag/eval/data/benchmarks/ntrex/newstest2019-ref.nob.txt",
        "rag/eval/data/benchmarks/norquad/test_dataset_flattened.json", "ui/app.py",
    ]
    assert [name for name in expected if name not in names] == []
    assert not any(name.startswith("tests/") for name in names)


@pytest.mark.slow
def test_installed_package_evaluates_seeds_outside_the_checkout(wheel: Path, tmp_path: Path):
    """`rag eval --suite seeds --json` from the installed wheel, run from a folder with no checkout in sight."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The installed copy comes first on the path, ahead of the editable checkout.
    env = {**os.environ, "PYTHONPATH": str(target), "RAG_INDEX_DIR": str(tmp_path / "index")}
    where = subprocess.run([sys.executable, "-c", "import rag.eval.suites as s; print(s.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(target)
    result = subprocess.run([sys.executable, "-m", "rag", "eval", "--suite", "seeds", "--json"], cwd=elsewhere,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["suite"] == "seeds" and report["hybrid"]["all"]["recall@5"] >= 0.9
