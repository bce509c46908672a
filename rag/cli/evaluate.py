"""`rag eval`: retrieval metrics on an evaluation suite (its data ships inside the package)."""
from __future__ import annotations

import argparse
import time

from rag.cli.common import add_location_options, print_json, progress, settings_from


def register(commands) -> None:
    """Add `eval` to the CLI's subcommand table."""
    evaluate = commands.add_parser("eval", help="retrieval metrics on an evaluation suite")
    evaluate.add_argument("--suite", required=True, help="seeds, norquad, norquad-validation or ntrex")
    evaluate.add_argument("--methods", default="hybrid", help="comma-separated: dense,windows,lexical,hybrid,hybrid-rrf")
    add_location_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(run=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from rag.eval.metrics import run_suite

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    started = time.perf_counter()
    report = run_suite(args.suite, settings_from(args), methods, progress=progress)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print_json(report)
    else:
        for method in methods:
            metrics = report[method]["all"]
            print(f"{args.suite} {method:8} " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items())
                  + f"  p50 {report[method]['latency_ms']['p50']:.1f} ms")
    return 0
