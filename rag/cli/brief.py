"""`rag brief`: a cited briefing note on a topic, by stakeholder perspective, as Markdown or Word."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.briefing.export import FORMATS
from rag.cli.common import UsageError, add_location_options, settings_from
from rag.errors import report


def register(commands) -> None:
    """Add `brief` to the CLI's subcommand table."""
    brief = commands.add_parser("brief", help="write a cited briefing note on a topic, by perspective")
    brief.add_argument("topic", help="the topic, in English or Norwegian, e.g. \"lack of resources\"")
    brief.add_argument("--format", choices=FORMATS, help="md (default) or docx; inferred from --out's suffix")
    brief.add_argument("--out", type=Path, help="file to write (default: Markdown to standard output)")
    brief.add_argument("--backend", help="answer backend (default: the `backend` setting, extractive)")
    brief.add_argument("--language", choices=("en", "no"), help="language of the note (default: the topic's)")
    add_location_options(brief)
    brief.set_defaults(run=_run_brief)


def _run_brief(args: argparse.Namespace) -> int:
    from rag.answer import Answerer
    from rag.briefing import BriefingWriter, to_markdown, write

    file_format = args.format or (args.out.suffix.lstrip(".").lower() if args.out else "md")
    if file_format not in FORMATS:
        raise UsageError(f"cannot tell the format from {args.out}; add --format md or --format docx")
    if file_format == "docx" and args.out is None:
        raise UsageError("a Word briefing needs a file; add --out FILE.docx")
    answerer = Answerer.from_settings(settings_from(args), backend=args.backend)
    try:
        note = BriefingWriter(answerer).write(args.topic, args.language)
    except ValueError as error:
        raise UsageError(str(error)) from error
    if args.out is None:
        sys.stdout.write(to_markdown(note))
        return 0
    write(note, args.out, file_format)
    report("note", f"wrote {args.out} ({len(note.sources)} sources)")
    return 0
