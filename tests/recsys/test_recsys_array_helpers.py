"""The small array and BLAS helpers of the per-request recommendation path."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

from recsys.sources import one_blas_thread, unique_ids


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


def _blas_threads() -> list[int]:
    return [lib.num_threads for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]


def test_one_blas_thread_limits_inside_and_restores_after() -> None:
    before = _blas_threads()
    with one_blas_thread():
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
    controller = ThreadpoolController()
    with controller.limit(limits=1, user_api="blas"):  # already one thread: the helper changes nothing
        with one_blas_thread():
            assert all(n == 1 for n in _blas_threads())
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
