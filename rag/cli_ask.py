"""`rag ask`: answer questions from the command line, with citations."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.types import Answer


def add_ask_command(commands, settings_from, print_json) -> None:
    """Register `ask` on the CLI's subcommand table."""
    ask = commands.add_parser("ask", help="answer a question with cited quotes")
    ask.add_argument("question", nargs="?", help="the question, in English or Norwegian")
    ask.add_argument("--batch", type=Path, help="JSONL file of {\"id\", \"q\"} lines; one answer line each")
    ask.add_argument("--backend", help="answer backend (default: the `backend` setting, extractive)")
    ask.add_argument("--k", type=int, default=6, help="number of sources to retrieve (default 6)")
    ask.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
    ask.add_argument("--index", type=Path, help="index folder (default: index/)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.set_defaults(run=lambda args: _run_ask(args, settings_from(args), print_json))


def _run_ask(args: argparse.Namespace, settings, print_json) -> int:
    from rag.answer import Answerer

    if bool(args.question) == bool(args.batch):
        raise SystemExit("error: give either a QUESTION or --batch FILE.jsonl")
    answerer = Answerer(settings, backend=args.backend or settings.backend)
    if args.batch:
        for query_id, question in _batch_items(args.batch):
            record = {"id": query_id, **answerer.ask(question, k=args.k).to_json()}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    answer = answerer.ask(args.question, k=args.k)
    if args.json:
        print_json(answer.to_json())
    else:
        print(readable(answer))
    return 0


def _batch_items(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                item = json.loads(line)
                yield item["id"], item["q"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise SystemExit(f"error: {path}:{number}: expected {{\"id\", \"q\"}} ({error})") from error


def readable(answer: Answer) -> str:
    """The answer followed by a numbered list of its quoted sources."""
    lines = [answer.text, ""]
    lines += [f"! {notice}" for notice in answer.notices]
    if answer.abstained:
        lines.append("Closest matches:")
        lines += [f"  - {' > '.join(c.section_path)}: {c.text[:160]!r}" for c in answer.closest]
    for citation in answer.citations:
        lines.append(f"[{citation.n}] {' > '.join(citation.section_path)}")
        lines.append(f"    «{citation.quote}»")
    if answer.uncited_sentences:
        lines.append("Uncited: " + " | ".join(answer.uncited_sentences))
    return "\n".join(lines)
