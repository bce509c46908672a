"""`rag ask`: answer questions from the command line, with citations."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.cli.common import UsageError, add_location_options, batch_items, positive_int, print_json, settings_from
from rag.language import question_problem
from rag.types import Answer


def register(commands) -> None:
    """Add `ask` to the CLI's subcommand table."""
    ask = commands.add_parser("ask", help="answer a question with cited quotes")
    ask.add_argument("question", nargs="?", help="the question, in English or Norwegian")
    ask.add_argument("--batch", type=Path, help="JSONL file of {\"id\", \"q\"} lines; one answer line each")
    ask.add_argument("--backend", help="answer backend (default: the `backend` setting, extractive)")
    ask.add_argument("--answer-mode", choices=("evidence", "free"),
                     help="evidence: citations attached by the code (default); free: the model places [n]")
    ask.add_argument("--k", type=positive_int,
                     help="number of sources to retrieve (default: the `answer_sources` setting, 6)")
    add_location_options(ask)
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.set_defaults(run=_run_ask)


def _run_ask(args: argparse.Namespace) -> int:
    from rag.answer import Answerer

    if bool(args.question) == bool(args.batch):
        raise UsageError("give either a QUESTION or --batch FILE.jsonl")
    problem = question_problem(args.question) if args.question is not None else None
    if problem:
        raise UsageError(problem)
    items = batch_items(args.batch) if args.batch else []  # every line checked before any is answered
    answerer = Answerer.from_settings(settings_from(args), backend=args.backend)
    if args.batch:
        for query_id, question in items:
            record = {"id": query_id, **answerer.ask(question, k=args.k, mode=args.answer_mode).to_json()}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    answer = answerer.ask(args.question, k=args.k, mode=args.answer_mode)
    if args.json:
        print_json(answer.to_json())
    else:
        print(readable(answer))
    return 0


def readable(answer: Answer) -> str:
    """The answer followed by a numbered list of its quoted sources."""
    lines = [answer.text, ""]
    lines += [f"! {notice}" for notice in answer.notices]
    if answer.abstained:
        lines.append("Closest matches:")
        lines += [f"  - {' > '.join(c.section_path)}: {c.text[:160]!r}" for c in answer.closest]
    for n in dict.fromkeys(citation.n for citation in answer.citations):  # each source once, its quotes below
        quotes = [citation for citation in answer.citations if citation.n == n]
        lines.append(f"[{n}] {' > '.join(quotes[0].section_path)}")
        lines += [f"    {citation.quote}" for citation in quotes]
    if answer.uncited_sentences:
        lines.append("Uncited: " + " | ".join(answer.uncited_sentences))
    lines += [f"Not supported: {s.text} ({s.reason})" for s in answer.unsupported]
    return "\n".join(lines)
