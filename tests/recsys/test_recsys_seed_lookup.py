"""Reason seeds: the per-response gathered rows answer exactly what the dense table says."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.candidates_request import SeedLookup


def _table(seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((60, 60)) < 0.1) * rng.random((60, 60))
    return sp.csr_matrix(dense.astype(np.float32))


def _expected(dense: np.ndarray, seeds: np.ndarray, item: int) -> int | None:
    values = np.where(seeds == item, 0.0, dense[seeds, item])  # never the item itself
    return int(seeds[np.argmax(values)]) if values.max() > 0 else None


def test_the_best_seed_of_every_item_follows_the_dense_table() -> None:
    for seed, seeds in ((0, np.array([3, 17, 3, 42, 0], np.int64)), (1, np.array([5, 9, 31, 44], np.int64))):
        table = _table(seed)  # the first seed list repeats a seed
        dense = table.toarray()
        items = np.arange(60)
        found = SeedLookup(table, seeds).best_of_many(items)
        assert found == [_expected(dense, seeds, item) for item in range(60)]
        assert any(f is not None for f in found) and any(f is None for f in found)


def test_no_seeds_cite_nothing() -> None:
    empty = np.zeros(0, np.int64)
    assert SeedLookup(_table(), empty).best_of_many(np.array([1, 2])) == [None, None]
