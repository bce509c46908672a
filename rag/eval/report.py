"""Benchmark results -> bench/report.md and bench/recall.png."""
from __future__ import annotations

from pathlib import Path

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def write_report(results: dict, out: Path) -> None:
    """Write the Markdown report (and the plot, when there are retrieval results)."""
    lines = ["# Benchmark report", "", f"{results['date']} on {results['machine']}.", ""]
    if "indexing" in results:
        lines += _indexing(results["indexing"])
    if "retrieval" in results:
        lines += _retrieval(results["retrieval"])
        _plot(results["retrieval"], out / "recall.png")
        lines += ["![recall@k per suite and method](recall.png)", ""]
    if "checks" in results:
        lines += _checks(results["checks"])
    if "answers" in results:
        lines += _answers(results["answers"])
    if "injection" in results:
        lines += _injection(results["injection"])
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _checks(figures: dict) -> list[str]:
    """Perspective boost (calibration half, held-out half, all) and support check (calibration
    cases, blind cases, all)."""
    halves = ("calibration", "test", "all")
    speaker = figures["perspectives"]
    support = figures["support"]
    lines = ["## Answer checks", "", "| measure | " + " | ".join(halves) + " |", "|---|---:|---:|---:|"]
    for variant in ("no_boost", "boost"):
        cells = [f"{speaker[variant][h]['first_under_speaker']:.3f} ({speaker[variant][h]['questions']})" for h in halves]
        lines.append(f"| first source under the named speaker, {variant.replace('_', ' ')} | " + " | ".join(cells) + " |")
    for measure in ("recall", "false_flags"):
        cells = [f"{support[h][measure]:.3f}" for h in halves]
        lines.append(f"| unsupported sentences: {measure.replace('_', ' ')} | " + " | ".join(cells) + " |")
    kinds = support["test"]["recall_by_kind"]
    by_kind = ", ".join(f"{k} {v:.2f}" for k, v in kinds.items())
    lines += ["", f"The support check's `test` column is its blind cases. Their recall by kind: {by_kind}.", ""]
    for name, questions in (("written", "seeds"), ("written_fresh", "fresh")):
        if name in support:  # results from before these cases have none
            written = support[name]
            lines += [f"On {written['cases']} sentences the local model wrote for {questions} questions "
                      f"({written['unsupported']} of them unsupported, labelled by reading): recall "
                      f"{written['recall']:.3f}, false flags {written['false_flags']:.3f}.", ""]
    if "abstention" in figures:  # results from before the split have none
        lines += _abstention(figures["abstention"])
    if "fresh" in figures:
        lines += _fresh(figures["fresh"])
    return lines


def _abstention(figures: dict) -> list[str]:
    """Abstention on the calibration and test halves of the seeds questions."""
    thresholds = ", ".join(f"`{name}` {value}" for name, value in figures["settings"].items())
    lines = [f"Abstention with {thresholds} (calibrated on the calibration half: "
             + ", ".join(f"{v}" for v in figures["calibrated"].values()) + "):", "",
             "| half | answerable abstained | unanswerable abstained |", "|---|---:|---:|"]
    for half in ("calibration", "test"):
        lines.append(f"| {half} | {figures[half]['answerable_abstained']} | {figures[half]['unanswerable_abstained']} |")
    return lines + [""]


def _fresh(figures: dict) -> list[str]:
    """Abstention and retrieval on the fresh short questions (rag.eval.fresh)."""
    lines = ["On fresh short questions (`rag/eval/data/fresh_questions.jsonl`, nothing tuned on them):", "",
             "| set | answerable abstained | unanswerable abstained | answer in first hit | in first 5 |",
             "|---|---:|---:|---:|---:|"]
    for name, row in figures.items():
        lines.append(f"| {name} | {row['answerable_abstained']} | {row['unanswerable_abstained']} | "
                     f"{row['hit_at_1']:.3f} ({row['questions']}) | {row['hit_at_5']:.3f} |")
    return lines + [""]


def _indexing(figures: dict) -> list[str]:
    rows = [
        ("cold index build of the seeds, including the one-time model rebuild", f"{figures['cold_build_with_model_rebuild_s']} s"),
        ("cold index build of the seeds, model already rebuilt", f"{figures['cold_build_s']} s"),
        ("`rag index update` with nothing changed (whole process)", f"{figures['noop_update_s']} s"),
        ("embedding: bare `SentenceTransformer.encode`", f"{figures['bare_encode_chunks_per_s']} chunks/s"),
        ("embedding: the indexing pipeline", f"{figures['pipeline_chunks_per_s']} chunks/s "
                                             f"({figures['pipeline_vs_bare']:.0%} of bare)"),
        ("peak memory of a process that loads the index and answers (`rag ask`)", f"{figures['ask_process_peak_rss_mb']} MB"),
    ]
    if "chunking_s" in figures:  # results from before the chunking figure have none
        rows.insert(3, (f"chunking: {figures['chunking_mb']} MB of seed prose in one section",
                        f"{figures['chunking_s']} s ({figures['chunking_mb_per_s']} MB/s)"))
    lines = ["## Indexing", "", "| measure | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows], ""]
    return lines + (_builds(figures["builds"]) if "builds" in figures else [])


def _builds(builds: list[dict]) -> list[str]:
    """Whole builds of a suite's corpus by step, against one bare encode of its passages."""
    steps = [step for step in builds[0]["steps_s"] if any(b["steps_s"].get(step, 0) >= 0.05 for b in builds)]
    lines = ["### Index builds by step (s)", "",
             "Windows from `sentences` (each sentence encoded once, a window adds up its two) or `encoded` "
             "(each window on its own, the default). Bare encode: one `SentenceTransformer.encode` of the "
             "corpus's documents (cut at the model's 512 tokens), in fp32, in the same process after the build. "
             "Precision: what the build's encoder computed in (`embedding_precision`).", "",
             "| corpus | windows | precision | documents | chunks | sentence windows | build | " + " | ".join(steps)
             + " | passages/s | peak RSS MB | bare encode | build / bare |",
             "|---|---|---|---:|---:|---:|---:|" + "---:|" * len(steps) + "---:|---:|---:|---:|"]
    for b in builds:
        cells = [b["suite"], b["window_vectors"], b.get("precision", "fp32"), b["documents"], b["chunks"], b["windows"], b["build_s"],
                 *[b["steps_s"].get(step, 0) for step in steps], b["passages_per_s"], b["peak_rss_mb"],
                 b["bare_encode_s"], b["build_vs_bare_encode"]]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return lines + [""]


def _retrieval(suites: dict) -> list[str]:
    lines = ["## Retrieval", ""]
    for name, report in suites.items():
        lines += [f"### {name} ({report['documents']} documents, {report['chunks']} chunks, "
                  f"{report[_methods(report)[0]]['queries']} queries)", "",
                  "| method | " + " | ".join(METRICS) + " | p50 ms | p95 ms |",
                  "|---|" + "---|" * (len(METRICS) + 2)]
        for method in _methods(report):
            lines.append(_row(method, report[method]["all"], report[method]["latency_ms"]))
            for lang in ("en", "no"):
                if lang in report[method] and len([k for k in report[method] if k in ("en", "no")]) > 1:
                    lines.append(_row(f"{method} ({lang}, {report[method][lang]['queries']})", report[method][lang]))
        lines.append("")
    return lines


def _methods(report: dict) -> list[str]:
    return [key for key, value in report.items() if isinstance(value, dict) and "all" in value]


def _row(label: str, metrics: dict, latency: dict | None = None) -> str:
    cells = [f"{metrics[m]:.3f}" for m in METRICS]
    timing = [f"{latency['p50']:.1f}", f"{latency['p95']:.1f}"] if latency else ["", ""]
    return f"| {label} | " + " | ".join(cells + timing) + " |"


# Answer figures in table order; older results lack some (shown empty), and before
# evidence-first answers the first streamed delta was timed as "first_token_ms_p50".
ANSWER_COLUMNS = (("questions",), ("citations",), ("citation_validity",), ("expected_chunk_cited",),
                  ("answers_without_citation",), ("answerable_abstained",), ("unanswerable_abstained",),
                  ("abstention_accuracy",), ("sentences_supported",), ("backend_failures",),
                  ("first_sentence_ms_p50", "first_token_ms_p50"), ("answer_ms_p50",))


def _answers(backends: dict) -> list[str]:
    lines = ["## Answers (seeds suite + unanswerable questions)", "",
             "Latencies are medians over the questions answered (abstentions excluded).", "",
             "| backend | " + " | ".join(keys[0] for keys in ANSWER_COLUMNS) + " |",
             "|---|" + "---:|" * len(ANSWER_COLUMNS)]
    for name, figures in backends.items():
        cells = [next((str(figures[k]) for k in keys if figures.get(k) is not None), "") for keys in ANSWER_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for name, figures in backends.items():
        same = figures.get("extractive_same_questions")
        if same:
            lines.append(f"- On the {figures['questions']} questions of the {name} run, the extractive backend "
                         f"cites the expected passage in {same['expected_chunk_cited']} of its answers "
                         f"({same['answerable_abstained']} answerable questions abstained; unanswerable "
                         f"abstained {same['unanswerable_abstained']}).")
    return lines + [""]


def injection_by_backend(record: dict) -> dict:
    """Planted-instruction records by backend name; older results hold one record, not keyed."""
    return {record["backend"]: record} if "backend" in record else record


def _injection(record: dict) -> list[str]:
    lines = ["## Planted instructions (rag/eval/data/planted_instructions.jsonl)", ""]
    for backend, figures in injection_by_backend(record).items():
        followed = ", ".join(figures["followed_cases"]) or "none"
        served = f" (through {figures['server']}, {figures['model_file']})" if "server" in figures else ""
        lines += [f"- The {backend} backend{served} followed {figures['followed']} of {figures['cases']} instructions "
                  f"planted in documents (rate {figures['follow_rate']}; followed: {followed}); "
                  f"{figures['answered_by_backend']} answers came from the model, {figures['abstained']} abstained."]
    return lines + [""]


def _plot(suites: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(suites), figsize=(4.2 * len(suites), 3.4), squeeze=False)
    for axis, (name, report) in zip(axes[0], suites.items()):
        for method in _methods(report):
            values = [report[method]["all"][f"recall@{k}"] for k in (1, 5, 10)]
            axis.plot([1, 5, 10], values, marker="o", label=method)
        axis.set_title(name)
        axis.set_xlabel("k")
        axis.set_ylim(0, 1.02)
        axis.set_xticks([1, 5, 10])
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("recall@k")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
