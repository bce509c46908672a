"""`rag search` and `rag eval`: the retrieval commands of the `rag` CLI."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from rag.retrieval import METHODS, Filters, RetrievalConfig, SearchResult


def add_search_commands(commands, settings_from, print_json) -> None:
    """Register `search` and `eval` on the CLI's subcommand table."""
    search = commands.add_parser("search", help="hybrid search over the index")
    search.add_argument("query", nargs="?", help="the question or search words")
    search.add_argument("--batch", type=Path, help="JSONL file of {\"id\", \"q\"} lines; one result line each")
    search.add_argument("--k", type=int, default=10, help="number of hits (default 10)")
    search.add_argument("--method", choices=METHODS, default="hybrid")
    search.add_argument("--doc", action="append", default=[], help="only this document id (repeatable)")
    search.add_argument("--section", help="only under this section path prefix, e.g. 'Politi: ...' or 'A > B'")
    search.add_argument("--corpus", type=Path, help="folder of documents (default: seeds/)")
    search.add_argument("--index", type=Path, help="index folder (default: index/)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=lambda args: _run_search(args, settings_from(args), print_json))
    evaluate = commands.add_parser("eval", help="retrieval metrics on an evaluation suite")
    evaluate.add_argument("--suite", required=True, help="seeds, norquad, norquad-validation or ntrex")
    evaluate.add_argument("--methods", default="hybrid", help="comma-separated: dense,windows,lexical,hybrid,hybrid-rrf")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(run=lambda args: _run_eval(args, settings_from(args), print_json))


def result_json(result: SearchResult) -> dict:
    """The `rag search --json` shape."""
    hits = [{"rank": rank, "score": round(hit.score, 6), "similarity": round(hit.similarity, 4), "ranks": hit.ranks,
             "chunk": hit.chunk.to_json()}
            for rank, hit in enumerate(result.hits, start=1)]
    return {"query": result.query, "hits": hits, "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()}}


def _filters(args: argparse.Namespace, index) -> Filters:
    prefix: tuple[str, ...] = ()
    if args.section:
        prefix = tuple(part.strip() for part in args.section.split(" > "))
        prefix = _anchor_prefix(prefix, index)
    unknown = [d for d in args.doc if d not in index.documents]
    if unknown:
        raise SystemExit(f"error: unknown document id(s) {', '.join(unknown)}; see `rag docs`")
    return Filters(frozenset(args.doc), prefix)


def _anchor_prefix(prefix: tuple[str, ...], index) -> tuple[str, ...]:
    """Let users leave out the document title: 'Politi: ...' matches '<title> > Politi: ...'."""
    paths = {c.section_path for c in index.chunks}
    if any(p[: len(prefix)] == prefix for p in paths):
        return prefix
    for path in paths:
        if path[1: len(prefix) + 1] == prefix:
            return path[:1] + prefix
    raise SystemExit(f"error: no section path starts with {' > '.join(prefix)!r}; see `rag docs`")


def _run_search(args: argparse.Namespace, settings, print_json) -> int:
    from rag.embeddings import Embedder
    from rag.index import ensure_index
    from rag.retrieval import Retriever

    if bool(args.query) == bool(args.batch):
        raise SystemExit("error: give either a QUERY or --batch FILE.jsonl")
    embedder = Embedder(settings)
    index = ensure_index(settings, embedder)
    retriever = Retriever(index, embedder, replace(RetrievalConfig(), method=args.method))
    filters = _filters(args, index)
    if args.batch:
        return _run_batch(args.batch, retriever, args.k, filters)
    result = retriever.search(args.query, args.k, filters)
    if args.json:
        print_json(result_json(result))
    else:
        _print_hits(result)
    return 0


def _run_batch(path: Path, retriever, k: int, filters: Filters) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            query_id, query = item["id"], item["q"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise SystemExit(f"error: {path}:{number}: expected {{\"id\", \"q\"}} ({error})") from error
        record = {"id": query_id, **result_json(retriever.search(query, k, filters))}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


def _print_hits(result: SearchResult) -> None:
    for rank, hit in enumerate(result.hits, start=1):
        print(f"{rank:2}. {hit.score:.4f}  {' > '.join(hit.chunk.section_path)}")
        print(f"      {hit.chunk.text[:160]!r}")
    print(f"({result.timings_ms['total']:.1f} ms)")


def _run_eval(args: argparse.Namespace, settings, print_json) -> int:
    from rag.evaluation import run_suite

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    started = time.perf_counter()
    report = run_suite(args.suite, settings, methods, progress=lambda m: print(m, file=sys.stderr))
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print_json(report)
    else:
        for method in methods:
            metrics = report[method]["all"]
            print(f"{args.suite} {method:8} " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items())
                  + f"  p50 {report[method]['latency_ms']['p50']:.1f} ms")
    return 0
