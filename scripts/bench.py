"""Run the benchmarks and write bench/report.md, bench/recall.png and bench/results.json.

    python scripts/bench.py                      # everything (about 20-30 min on 2 cores the first time)
    python scripts/bench.py --only retrieval --suites seeds
    python scripts/bench.py --only answers-openai --llm-questions 24   # the openai backend on a local llama.cpp server

The LLM parts (answers-llm, answers-openai, injection) use `llamacpp_model_path` (default: the
Qwen2.5-Coder-1.5B GGUF of `make models`); `RAG_LLAMACPP_MODEL_PATH=<gguf>` runs them on another.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rag.answer.backends.llamacpp import DEFAULT_GGUF_NAME
from rag.eval.benchmark import (
    answer_figures,
    check_figures,
    default_settings,
    indexing_figures,
    machine,
    planted_instruction_figures,
    require_local_model,
    retrieval_figures,
    served_openai_figures,
)
from rag.eval.report import injection_by_backend, write_report

PARTS = ("indexing", "retrieval", "checks", "answers", "answers-llm", "injection", "answers-openai")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--suites", default="seeds,norquad,ntrex")
    parser.add_argument("--methods", default="dense,windows,lexical,hybrid,hybrid-rrf")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--llm-questions", type=int, default=24, help="answerable questions for the LLM run")
    args = parser.parse_args()
    parts = args.only or PARTS
    settings = default_settings()
    if {"answers-llm", "injection", "answers-openai"} & set(parts):
        require_local_model(settings)  # results are written at the end: fail before the other parts run
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    results["date"], results["machine"] = time.strftime("%Y-%m-%d"), machine()
    if "indexing" in parts:
        results["indexing"] = indexing_figures(settings)
    if "retrieval" in parts:
        suites = args.suites.split(",")
        results.setdefault("retrieval", {}).update(retrieval_figures(settings, suites, args.methods.split(",")))
    if "checks" in parts:
        results["checks"] = check_figures(settings)
    if "answers" in parts:
        results.setdefault("answers", {})["extractive"] = answer_figures(settings, "extractive")
    if "answers-llm" in parts:
        # Qwen2.5-Coder-1.5B via llama.cpp: ~20 s an answer on 2 cores, so a spread-out subset.
        results.setdefault("answers", {})["llamacpp (Qwen2.5-Coder-1.5B Q4_K_M)"] = answer_figures(
            settings, "llamacpp", limit=args.llm_questions)
    # How often a model obeys instructions planted in a document (lower is better), per backend;
    # results of older runs hold the llamacpp record alone.
    if "injection" in results:
        results["injection"] = injection_by_backend(results["injection"])
    if "injection" in parts:
        results.setdefault("injection", {})["llamacpp"] = planted_instruction_figures(settings, "llamacpp")
    if "answers-openai" in parts:
        # The same model behind llama-cpp-python's OpenAI-compatible server on loopback, started
        # for this part only: the same question subset as answers-llm, then the planted instructions.
        answers, planted = served_openai_figures(settings, limit=args.llm_questions)
        results.setdefault("answers", {})[f"openai (llama.cpp server, {_model_label(answers['model_file'])})"] = answers
        results.setdefault("injection", {})["openai"] = planted
    args.out.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    write_report(results, args.out)
    print(f"wrote {args.out / 'report.md'}")


def _model_label(file_name: str) -> str:
    """How the answers table names a GGUF: the default model by name, any other by its file."""
    return "Qwen2.5-Coder-1.5B Q4_K_M" if file_name == DEFAULT_GGUF_NAME else file_name


if __name__ == "__main__":
    main()
