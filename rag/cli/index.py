"""`rag index build|update|status`: the search index of the corpus folder."""
from __future__ import annotations

import argparse

from rag.cli.common import add_location_options, print_json, progress, settings_from
from rag.errors import report
from rag.index.timings import describe


def register(commands) -> None:
    """Add `index` and its actions to the CLI's subcommand table."""
    index = commands.add_parser("index", help="build, update or inspect the search index")
    actions = index.add_subparsers(title="actions", required=True)
    for name, run, text in (
        ("build", _run_build, "build the index from scratch"),
        ("update", _run_update, "re-embed only added or changed documents"),
        ("status", _run_status, "documents, chunks, model and staleness"),
    ):
        action = actions.add_parser(name, help=text)
        add_location_options(action)
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(run=run)
        if name == "update":
            action.add_argument("--prune", action="store_true",
                                help="also drop documents whose file cannot be read now (by default their "
                                     "last indexed version is kept, with a warning)")


def _run_build(args: argparse.Namespace) -> int:
    from rag.index import build_index

    return _report_update(args, build_index(settings_from(args), progress=progress))


def _run_update(args: argparse.Namespace) -> int:
    from rag.index import update_index

    return _report_update(args, update_index(settings_from(args), progress=progress, prune=args.prune))


def _report_update(args: argparse.Namespace, report) -> int:
    if args.json:
        print_json({**report.__dict__, "changed_anything": report.changed_anything})
    elif not report.changed_anything:
        print(f"index is up to date ({report.total_chunks} chunks, {report.seconds:.2f} s)")
    else:
        what = "rebuilt" if report.rebuilt else (
            f"updated: {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed")
        print(f"index {what}; embedded {report.embedded_chunks} of {report.total_chunks} chunks "
              f"in {report.seconds:.1f} s ({describe(report.timings)})")
    return 0


def _run_status(args: argparse.Namespace) -> int:
    from rag.index import index_status

    status = index_status(settings_from(args))
    if args.json:
        print_json(status)
    elif not status["ok"]:
        report("error", status["error"])
    else:
        state = "up to date" if status["up_to_date"] else "needs `rag index update`"
        print(f"{status['index_dir']}: {status['documents']} documents, {status['chunks']} chunks, "
              f"model {status['model']['model_id']} ({status['model']['dim']} dims), {state}")
        for reason in status["stale_reasons"]:
            print(f"  stale: {reason}")
        for kind, ids in status["corpus_changes"].items():
            if ids:
                print(f"  {kind}: {', '.join(ids)}")
        for problem in status["unreadable_files"]:
            print(f"  unreadable: {problem['file']}: {problem['reason']}")
    return 0 if status["ok"] else 1
