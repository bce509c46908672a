"""`rag docs` and `rag chunks`: the corpus as the pipeline reads and splits it."""
from __future__ import annotations

import argparse

from rag.cli.common import add_location_options, load_reporting, print_json, settings_from
from rag.index.chunking import ChunkingConfig, chunk_document
from rag.types import Document


def register(commands) -> None:
    """Add `docs` and `chunks` to the CLI's subcommand table."""
    docs = commands.add_parser("docs", help="list the corpus documents with their section tree")
    add_location_options(docs, index=False)
    docs.add_argument("--json", action="store_true", help="print JSON instead of a readable tree")
    docs.set_defaults(run=_run_docs)
    chunks = commands.add_parser("chunks", help="list the chunks the corpus is split into")
    add_location_options(chunks, index=False)
    chunks.add_argument("--json", action="store_true", help="print JSON instead of a readable list")
    chunks.set_defaults(run=_run_chunks)


def _run_docs(args: argparse.Namespace) -> int:
    documents = load_reporting(settings_from(args)).documents
    if args.json:
        print_json([d.to_json() for d in documents])
    else:
        for document in documents:
            print(_document_tree(document))
    return 0


def _document_tree(document: Document) -> str:
    authors = ", ".join(document.meta.get("authors", []))
    lines = [f"{document.source}  ({len(document.text)} chars{'; by ' + authors if authors else ''})"]
    for section in document.sections:
        lines.append(f"{'  ' * section.level}{section.heading}  [{section.start}:{section.end}]")
    for footnote in document.footnotes:
        lines.append(f"  footnote {footnote.n} in {' > '.join(footnote.section_path[1:])}: {footnote.text[:60]}")
    return "\n".join(lines)


def _run_chunks(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    config = ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens)
    chunks = [c for d in load_reporting(settings).documents for c in chunk_document(d, config)]
    if args.json:
        print_json([c.to_json() for c in chunks])
    else:
        for chunk in chunks:
            print(f"{chunk.id}  {chunk.tokens:4} tok  {' > '.join(chunk.section_path)}")
            print(f"    {chunk.text[:100]!r}")
    return 0
