"""llama-cpp-python's OpenAI-compatible server, loading models as the `llamacpp` backend does.

    python -m rag.answer.backends.llama_server [--weight-repacking auto|on|off] <llama_cpp.server arguments>

Runs `python -m llama_cpp.server` in this process with llama.cpp's weight repacking decided
by `rag.answer.backends.llamacpp_cpu` (off on CPUs with AMX, where it segfaults at the first
completion). The server's own command line has no flag for it (its model settings do not
include `use_extra_bufts`). Every other argument goes to the server unchanged.
"""
from __future__ import annotations

import argparse
import logging
import sys

from rag.answer.backends.llamacpp_cpu import MODES, weight_repacking


def split_arguments(argv: list[str]) -> tuple[str, list[str]]:
    """The `--weight-repacking` mode (default "auto") and the arguments left for llama_cpp.server."""
    # No help and no abbreviations: `--help` and every server flag pass through untouched.
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--weight-repacking", choices=MODES, default="auto")
    ours, rest = parser.parse_known_args(argv)
    return ours.weight_repacking, rest


def main(argv: list[str] | None = None) -> None:
    mode, server_arguments = split_arguments(sys.argv[1:] if argv is None else argv)
    _log_to_stderr()
    from llama_cpp.server.__main__ import main as serve

    sys.argv = ["llama_cpp.server", *server_arguments]  # the server parses sys.argv itself
    # Held for the server's whole life: it may load a model again when a request names another one.
    with weight_repacking(mode):
        serve()


def _log_to_stderr() -> None:
    """Show this project's info messages (the "repacking turned off" notice) in the server's log;
    other libraries' loggers keep their levels."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger("rag")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


if __name__ == "__main__":
    main()
