"""Evaluation: suites (data shipped in `data/`), retrieval metrics, `make bench` and its report, the scale bench."""
