"""The `rag` command: inspect the corpus, build the index, search, evaluate."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.chunking import ChunkingConfig, chunk_document
from rag.cli_ask import add_ask_command
from rag.cli_brief import add_brief_command
from rag.cli_search import add_search_commands
from rag.index_files import IndexCorrupt, IndexMissing
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
    except (IngestError, SettingsError, IndexMissing, IndexCorrupt) as error:
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
    _index_parser(commands)
    add_search_commands(commands, settings_from, _print_json)
    add_ask_command(commands, settings_from, _print_json)
    add_brief_command(commands, settings_from)
    _serve_parser(commands)
    return parser


def _serve_parser(commands) -> None:
    serve = commands.add_parser("serve", help="serve the web chat (builds the index from the corpus if needed)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; others need RAG_AUTH=user:password)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
    serve.add_argument("--index", type=Path, help="index folder (default: index/)")
    serve.add_argument("--backend", help="answer backend (default: the `backend` setting, extractive)")
    serve.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    # The only place the library reaches up into the UI: serving needs both.
    from ui.app import serve

    serve(settings_from(args), host=args.host, port=args.port, backend=args.backend)
    return 0


def _index_parser(commands) -> None:
    index = commands.add_parser("index", help="build, update or inspect the search index")
    actions = index.add_subparsers(title="actions", required=True)
    for name, run, text in (
        ("build", _run_index_build, "build the index from scratch"),
        ("update", _run_index_update, "re-embed only added or changed documents"),
        ("status", _run_index_status, "documents, chunks, model and staleness"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
        action.add_argument("--index", type=Path, help="index folder (default: index/)")
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(run=run)


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


def _run_index_build(args: argparse.Namespace) -> int:
    from rag.index import build_index

    return _report_update(args, build_index(settings_from(args)))


def _run_index_update(args: argparse.Namespace) -> int:
    from rag.index import update_index

    return _report_update(args, update_index(settings_from(args)))


def _report_update(args: argparse.Namespace, report) -> int:
    if args.json:
        _print_json({**report.__dict__, "changed_anything": report.changed_anything})
    elif not report.changed_anything:
        print(f"index is up to date ({report.total_chunks} chunks, {report.seconds:.2f} s)")
    else:
        what = "rebuilt" if report.rebuilt else (
            f"updated: {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed")
        print(f"index {what}; embedded {report.embedded_chunks} of {report.total_chunks} chunks "
              f"in {report.seconds:.1f} s")
    return 0


def _run_index_status(args: argparse.Namespace) -> int:
    from rag.index import index_status

    status = index_status(settings_from(args))
    if args.json:
        _print_json(status)
    elif not status["ok"]:
        print(status["error"])
    else:
        state = "up to date" if status["up_to_date"] else "needs `rag index update`"
        print(f"{status['index_dir']}: {status['documents']} documents, {status['chunks']} chunks, "
              f"model {status['model']['model_id']} ({status['model']['dim']} dims), {state}")
        for reason in status["stale_reasons"]:
            print(f"  stale: {reason}")
        for kind, ids in status["corpus_changes"].items():
            if ids:
                print(f"  {kind}: {', '.join(ids)}")
    return 0 if status["ok"] else 1


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")

