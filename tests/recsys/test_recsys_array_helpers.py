"""The BLAS guard of the per-request recommendation path."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

from recsys.sources import one_blas_thread


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
