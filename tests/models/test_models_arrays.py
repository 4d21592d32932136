"""Array helpers of the request paths (models.arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from models.arrays import union_ids, unique_ids


@pytest.mark.parametrize("size", [0, 1, 2, 7, 500, 5000])
def test_unique_ids_equals_numpy_unique(size: int) -> None:
    rng = np.random.default_rng(size)
    values = rng.integers(0, max(size // 3, 1), size).astype(np.int64)
    got = unique_ids(values)
    np.testing.assert_array_equal(got, np.unique(values))
    assert got.dtype == np.int64


def test_unique_ids_leaves_its_input_alone() -> None:
    values = np.array([5, 1, 5, 3], np.int64)
    unique_ids(values)
    np.testing.assert_array_equal(values, [5, 1, 5, 3])


def test_union_ids_equals_numpy_union1d() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 50, 40).astype(np.int32), rng.integers(0, 50, 10)
    got = union_ids(a, b)
    np.testing.assert_array_equal(got, np.union1d(a, b))
    assert got.dtype == np.int64
    assert len(union_ids(a[:0], b[:0])) == 0
