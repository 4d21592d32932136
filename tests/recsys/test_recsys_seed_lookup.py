"""Reason seeds: the per-response gathered rows answer exactly what the dense table says."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.candidates_request import SeedLookup, best_seed


def _table(seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((60, 60)) < 0.1) * rng.random((60, 60))
    return sp.csr_matrix(dense.astype(np.float32))


def test_values_equal_the_dense_columns() -> None:
    table = _table()
    seeds = np.array([3, 17, 3, 42, 0], np.int64)  # a repeated seed too
    lookup = SeedLookup(table, seeds)
    dense = table.toarray()
    for item in range(60):
        np.testing.assert_array_equal(lookup.values(item), dense[seeds, item])


def test_cached_and_uncached_best_seed_agree() -> None:
    table, seeds = _table(1), np.array([5, 9, 31, 44], np.int64)
    cache: dict = {}
    dense = table.toarray()
    for item in range(60):
        values = np.where(seeds == item, 0.0, dense[seeds, item])  # never the item itself
        expected = int(seeds[np.argmax(values)]) if values.max() > 0 else None
        assert best_seed(table, seeds, item) == expected
        assert best_seed(table, seeds, item, cache) == expected
    assert len(cache) == 1  # one gather for the whole response
    assert best_seed(table, np.zeros(0, np.int64), 3) is None
