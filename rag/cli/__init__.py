"""The `rag` command: inspect the corpus, build the index, search, evaluate, answer, brief, serve.

One module per command, each with a `register(commands)`; `common` holds what they share.
"""
from __future__ import annotations

import argparse

from rag.cli import ask, brief, corpus, evaluate, index, search, serve
from rag.errors import RagError, report

COMMANDS = (corpus, index, search, evaluate, ask, brief, serve)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except RagError as error:
        report("error", str(error))
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(title="commands")
    for command in COMMANDS:
        command.register(commands)
    return parser
