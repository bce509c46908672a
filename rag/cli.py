"""The `rag` command: inspect the corpus, build the index, search, evaluate."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.chunking import ChunkingConfig, chunk_document
from rag.ingest import CorpusLoad, IngestError, load_corpus
from rag.settings import Settings, SettingsError
from rag.types import Document


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except (IngestError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    commands = parser.add_subparsers(title="commands")
    docs = commands.add_parser("docs", help="list the corpus documents with their section tree")
    _corpus_options(docs)
    docs.set_defaults(run=_run_docs)
    chunks = commands.add_parser("chunks", help="list the chunks the corpus is split into")
    _corpus_options(chunks)
    chunks.set_defaults(run=_run_chunks)
    return parser


def _corpus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a readable tree")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with the command line's --corpus/--index applied on top."""
    return Settings.load(corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None))


def load_reporting(settings: Settings) -> CorpusLoad:
    """Load the corpus and report skipped or failed files on stderr."""
    loaded = load_corpus(settings.corpus_dir)
    for problem in loaded.problems:
        print(f"{problem.level}: {problem.message}", file=sys.stderr)
    return loaded


def _run_docs(args: argparse.Namespace) -> int:
    documents = load_reporting(settings_from(args)).documents
    if args.json:
        _print_json([d.to_json() for d in documents])
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
        _print_json([c.to_json() for c in chunks])
    else:
        for chunk in chunks:
            print(f"{chunk.id}  {chunk.tokens:4} tok  {' > '.join(chunk.section_path)}")
            print(f"    {chunk.text[:100]!r}")
    return 0


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")

