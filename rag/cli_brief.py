"""`rag brief`: a cited briefing note on a topic, by stakeholder perspective, as Markdown or Word."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.briefing_export import FORMATS


def add_brief_command(commands, settings_from) -> None:
    """Register `brief` on the CLI's subcommand table."""
    brief = commands.add_parser("brief", help="write a cited briefing note on a topic, by perspective")
    brief.add_argument("topic", help="the topic, in English or Norwegian, e.g. \"lack of resources\"")
    brief.add_argument("--format", choices=FORMATS, help="md (default) or docx; inferred from --out's suffix")
    brief.add_argument("--out", type=Path, help="file to write (default: Markdown to standard output)")
    brief.add_argument("--backend", help="answer backend (default: the `backend` setting, extractive)")
    brief.add_argument("--language", choices=("en", "no"), help="language of the note (default: the topic's)")
    brief.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
    brief.add_argument("--index", type=Path, help="index folder (default: index/)")
    brief.set_defaults(run=lambda args: _run_brief(args, settings_from(args)))


def _run_brief(args: argparse.Namespace, settings) -> int:
    from rag.answer import Answerer
    from rag.briefing import BriefingWriter
    from rag.briefing_export import to_markdown, write

    file_format = args.format or (args.out.suffix.lstrip(".").lower() if args.out else "md")
    if file_format not in FORMATS:
        raise SystemExit(f"error: cannot tell the format from {args.out}; add --format md or --format docx")
    if file_format == "docx" and args.out is None:
        raise SystemExit("error: a Word briefing needs a file; add --out FILE.docx")
    try:
        note = BriefingWriter(Answerer(settings, backend=args.backend or settings.backend)).write(
            args.topic, args.language)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from error
    if args.out is None:
        sys.stdout.write(to_markdown(note))
        return 0
    write(note, args.out, file_format)
    print(f"wrote {args.out} ({len(note.sources)} sources)", file=sys.stderr)
    return 0
