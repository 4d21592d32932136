"""VectorIndex: filtered queries stay exact whether the base is a flat index or an HNSW graph."""

from __future__ import annotations

import numpy as np
import pytest

from search import vectors as vec
from search.vectors import VectorIndex


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("gather_max", [0, 10_000])  # the FAISS-with-selector path and the gather path
def test_filtered_top_is_exact_on_flat_and_hnsw(monkeypatch: pytest.MonkeyPatch, gather_max: int) -> None:
    monkeypatch.setattr(vec, "GATHER_MAX", gather_max)
    rng = np.random.default_rng(0)
    base = _unit(rng, 600)
    flat = VectorIndex.build(base, hnsw_min_items=10_000).with_vectors(_unit(rng, 20))
    hnsw = VectorIndex.build(base, hnsw_min_items=1).with_vectors(flat.tail)
    assert hnsw.approximate and not flat.approximate
    everything = np.vstack([base, flat.tail])
    for _ in range(10):
        query = _unit(rng, 1)[0]
        allowed = rng.random(len(everything)) < 0.3
        truth = np.flatnonzero(allowed)[np.argsort(-(everything[allowed] @ query), kind="stable")][:10]
        for index in (flat, hnsw):
            rows, sims = index.top(query, 10, allowed)
            assert rows.tolist() == truth.tolist()
            np.testing.assert_allclose(sims, everything[rows] @ query, rtol=1e-5, atol=1e-6)


def test_unfiltered_hnsw_finds_the_exact_nearest_on_a_small_index() -> None:
    rng = np.random.default_rng(1)
    base = _unit(rng, 300)
    hnsw = VectorIndex.build(base, hnsw_min_items=1)
    for row in (0, 17, 299):
        rows, _ = hnsw.top(base[row], 5, None)
        assert rows[0] == row
