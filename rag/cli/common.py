"""What every `rag` command shares: settings from the command line, options, output and diagnostics.

Diagnostics go to stderr through `rag.errors.report` (`error: ...`, `warning: ...`), so every
command speaks alike; a command signals a usage problem by raising `UsageError`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.errors import RagError, report
from rag.ingest import CorpusLoad, load_corpus
from rag.language import question_problem
from rag.settings import Settings


class UsageError(RagError):
    """The command line asks for something impossible; the message says what to type instead."""


def add_location_options(parser: argparse.ArgumentParser, index: bool = True) -> None:
    """--corpus (and --index) for commands that read documents (or the index)."""
    parser.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
    if index:
        parser.add_argument("--index", type=Path, help="index folder (default: index/)")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (`--k 0` was taken as the default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; give 1 or more")
    return value


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with the command line's --corpus/--index applied on top."""
    return Settings.load(corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None))


def load_reporting(settings: Settings) -> CorpusLoad:
    """Load the corpus and report skipped or failed files on stderr."""
    loaded = load_corpus(settings.corpus_dir)
    for problem in loaded.problems:
        report(problem.level, problem.message)
    return loaded


def print_json(data) -> None:
    """Indented JSON on stdout, non-ASCII kept as is."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


def progress(message: str) -> None:
    """Progress of long work (index builds, evaluation), on stderr so stdout stays parseable."""
    print(message, file=sys.stderr, flush=True)


# Bad lines named in one error: enough to fix a file by, not a screenful.
MAX_REPORTED = 5


def batch_items(path: Path) -> list[tuple[str, str]]:
    """(id, question) of each {"id", "q"} line of a JSONL file, all read before any is answered;
    UsageError naming every bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})") from error
    items, problems = [], []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            item, problem = _batch_item(line)
            if problem:
                problems.append(f"{path}:{number}: {problem}")
            else:
                items.append(item)
    if problems:
        raise UsageError("; ".join(problems[:MAX_REPORTED]) + (f" (and {len(problems) - MAX_REPORTED} more lines)"
                                                               if len(problems) > MAX_REPORTED else ""))
    if not items:
        raise UsageError(f"{path}: no questions in it; write one {{\"id\": ..., \"q\": ...}} line per question")
    return items


def _batch_item(line: str) -> tuple[tuple[str, str] | None, str | None]:
    """The (id, question) of a batch line, or what is wrong with it."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"not JSON ({error.msg}); write {{\"id\": ..., \"q\": ...}}"
    if not isinstance(item, dict) or "id" not in item or "q" not in item:
        return None, 'expected an object with "id" and "q"'
    if not isinstance(item["q"], str):
        return None, '"q" is not text'
    return (item["id"], item["q"]), question_problem(item["q"])
