"""`rag search`: hybrid search over the index, one query or a batch."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from rag.cli.common import UsageError, add_location_options, batch_items, positive_int, print_json, settings_from
from rag.retrieval import METHODS, Filters, RetrievalConfig, SearchResult


def register(commands) -> None:
    """Add `search` to the CLI's subcommand table."""
    search = commands.add_parser("search", help="hybrid search over the index")
    search.add_argument("query", nargs="?", help="the question or search words")
    search.add_argument("--batch", type=Path, help="JSONL file of {\"id\", \"q\"} lines; one result line each")
    search.add_argument("--k", type=positive_int, default=10, help="number of hits (default 10)")
    search.add_argument("--method", choices=METHODS, default="hybrid")
    search.add_argument("--doc", action="append", default=[], help="only this document id (repeatable)")
    search.add_argument("--section", help="only under this section path prefix, e.g. 'Politi: ...' or 'A > B'")
    add_location_options(search)
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=_run_search)


def result_json(result: SearchResult) -> dict:
    """The `rag search --json` shape."""
    hits = [{"rank": rank, "score": round(hit.score, 6), "similarity": round(hit.similarity, 4), "ranks": hit.ranks,
             "chunk": hit.chunk.to_json()}
            for rank, hit in enumerate(result.hits, start=1)]
    return {"query": result.query, "perspective": result.perspective, "hits": hits, "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()}}


def _filters(args: argparse.Namespace, index) -> Filters:
    prefix: tuple[str, ...] = ()
    if args.section:
        prefix = tuple(part.strip() for part in args.section.split(" > "))
        prefix = _anchor_prefix(prefix, index)
    unknown = [d for d in args.doc if d not in index.documents]
    if unknown:
        raise UsageError(f"unknown document id(s) {', '.join(unknown)}; see `rag docs`")
    return Filters(frozenset(args.doc), prefix)


def _anchor_prefix(prefix: tuple[str, ...], index) -> tuple[str, ...]:
    """Let users leave out the document title: 'Politi: ...' matches '<title> > Politi: ...'."""
    paths = {c.section_path for c in index.chunks}
    if any(p[: len(prefix)] == prefix for p in paths):
        return prefix
    for path in paths:
        if path[1: len(prefix) + 1] == prefix:
            return path[:1] + prefix
    raise UsageError(f"no section path starts with {' > '.join(prefix)!r}; see `rag docs`")


def _run_search(args: argparse.Namespace) -> int:
    from rag.embedding import make_embedder
    from rag.index import ensure_index
    from rag.retrieval import Retriever

    if bool(args.query) == bool(args.batch):
        raise UsageError("give either a QUERY or --batch FILE.jsonl")
    settings = settings_from(args)
    embedder = make_embedder(settings)
    index = ensure_index(settings, embedder)
    retriever = Retriever(index, embedder, replace(RetrievalConfig(), method=args.method))
    filters = _filters(args, index)
    if args.batch:
        for query_id, query in batch_items(args.batch):
            record = {"id": query_id, **result_json(retriever.search(query, args.k, filters))}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    result = retriever.search(args.query, args.k, filters)
    if args.json:
        print_json(result_json(result))
    else:
        _print_hits(result)
    return 0


def _print_hits(result: SearchResult) -> None:
    for rank, hit in enumerate(result.hits, start=1):
        print(f"{rank:2}. {hit.score:.4f}  {' > '.join(hit.chunk.section_path)}")
        print(f"      {hit.chunk.text[:160]!r}")
    print(f"({result.timings_ms['total']:.1f} ms)")
