"""Sentence windows: finding the chunks that own the best windows, exactly or through an index."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import clustered_vectors

from rag.index.windows import WindowTable


def clustered_windows(count, seed=7):
    """`count` windows, four per chunk, clustered like text."""
    rows = np.repeat(np.arange(count // 4), 4)
    return WindowTable(rows, np.zeros((count, 2), np.int64), clustered_vectors(count, clusters=300, seed=seed))


def test_an_ivf_index_over_windows_finds_nearly_the_chunks_an_exact_scan_finds(tmp_path):
    exact = clustered_windows(20_000)
    indexed = exact.with_search_index("ivf")
    queries = clustered_windows(100, seed=8).vectors
    overlap = [len(set(exact.top_chunks(q, 20)) & set(indexed.top_chunks(q, 20))) / len(exact.top_chunks(q, 20))
               for q in queries]
    assert np.mean(overlap) >= 0.95
    indexed.save(tmp_path)
    loaded = WindowTable.load(tmp_path)
    assert loaded.search_index is not None and np.array_equal(loaded.vectors, exact.vectors)
    assert list(loaded.top_chunks(queries[0], 20)) == list(indexed.top_chunks(queries[0], 20))


def test_a_filter_still_scans_exactly_and_flat_needs_no_index(tmp_path):
    table = clustered_windows(2_000).with_search_index("ivf")
    allowed = np.zeros(500, dtype=bool)
    allowed[[3, 4]] = True
    assert set(table.top_chunks(table.vectors[0], 20, allowed)) == {3, 4}
    assert table.with_search_index("flat").search_index is None


def test_windows_without_vectors_or_index_are_reported(tmp_path):
    np.savez(tmp_path / "windows.npz", rows=np.zeros(3, np.int64), spans=np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match="no vectors"):
        WindowTable.load(tmp_path)
