"""Where an index build of a suite's corpus spends its time, against one bare encode of its passages.

    python -m rag.eval.build_profile norquad [--window-vectors sentences|encoded] [--precision auto|fp32|bf16]

Runs in a process of its own (so its peak memory is the build's) and prints one JSON object:
documents, chunks, windows, build seconds and their breakdown by step, passages/s, peak RSS,
and the seconds of one bare fp32 `SentenceTransformer.encode` of the same passages (each
document's text, cut at the model's input limit as the model cuts it) measured after the
build in the same process, with the model already loaded. `make bench` runs it for the seeds
and NorQuAD (rag.eval.benchmark.build_profiles).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rag.settings import Settings

# Texts per batch of the bare encode every build is compared with: sentence-transformers used
# as a user would, at the batch size of the first measurements (87 s on NorQuAD then).
BARE_ENCODE_BATCH = 16


def profile(suite_name: str, window_vectors: str, precision: str, scratch: Path) -> dict:
    """Build the suite's index from scratch in `scratch`, then time a bare encode of its passages."""
    from rag.embedding import Embedder
    from rag.eval.suites import load_suite
    from rag.index.build import load_index, update_index

    suite = load_suite(suite_name)
    settings = replace(Settings.load(), index_dir=scratch / "index", corpus_dir=scratch / "unused",
                       window_vectors=window_vectors, embedding_precision=precision)
    embedder = Embedder(settings)
    embedder.encode_passages(["warm-up"])  # model loading is not part of the build's figure
    # The suite's documents are given, not read from a folder: there is no loading step.
    report = update_index(settings, embedder, progress=lambda message: None, force_rebuild=True,
                          documents=suite.documents)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    windows = len(load_index(settings.index_dir).windows.rows)
    texts = [document.text for document in suite.documents]
    started = time.perf_counter()
    embedder.model.encode(texts, batch_size=BARE_ENCODE_BATCH, prompt="passage: ",
                          normalize_embeddings=True, show_progress_bar=False)
    bare = time.perf_counter() - started
    return {"suite": suite_name, "window_vectors": window_vectors, "precision": embedder.precision,
            "documents": len(texts),
            "chunks": report.total_chunks, "windows": windows, "build_s": round(report.seconds, 1), "steps_s": report.timings,
            "passages_per_s": round(len(texts) / report.seconds, 2), "peak_rss_mb": peak_mb,
            "bare_encode_s": round(bare, 1), "build_vs_bare_encode": round(report.seconds / bare, 2)}


def build_profile(suite_name: str, window_vectors: str, precision: str) -> dict:
    """`profile` in a fresh process (python -m rag.eval.build_profile)."""
    output = subprocess.run([sys.executable, "-m", "rag.eval.build_profile", suite_name, "--window-vectors",
                             window_vectors, "--precision", precision], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite")
    parser.add_argument("--window-vectors", default=Settings.window_vectors)
    parser.add_argument("--precision", default=Settings.embedding_precision)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        print(json.dumps(profile(args.suite, args.window_vectors, args.precision, Path(scratch))))


if __name__ == "__main__":
    main()
