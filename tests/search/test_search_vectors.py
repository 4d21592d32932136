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


def test_a_broad_filter_walks_the_graph_and_keeps_only_allowed_positions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vec, "GATHER_MAX", 0)
    rng = np.random.default_rng(2)
    base = _unit(rng, 2000)
    hnsw = VectorIndex.build(base, hnsw_min_items=1)
    calls: list[bool] = []
    search = VectorIndex._faiss_search
    monkeypatch.setattr(
        VectorIndex, "_faiss_search", lambda *a, graph: calls.append(graph) or search(*a, graph=graph)
    )
    found = 0
    for _ in range(20):
        query = _unit(rng, 1)[0]
        allowed = rng.random(len(base)) < 0.8
        truth = np.flatnonzero(allowed)[np.argsort(-(base[allowed] @ query), kind="stable")][:10]
        rows, sims = hnsw.top(query, 10, allowed)
        assert len(rows) == 10 and allowed[rows].all()  # a full page, nothing the filter refuses
        np.testing.assert_allclose(sims, base[rows] @ query, rtol=1e-5, atol=1e-6)
        found += len(set(rows.tolist()) & set(truth.tolist()))
    assert calls and all(calls)  # the graph answered every broad filter
    assert found / 200 >= 0.95  # as accurate as an unfiltered walk


def test_a_graph_walk_that_finds_too_few_falls_back_to_the_exact_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vec, "GATHER_MAX", 0)
    rng = np.random.default_rng(3)
    base = _unit(rng, 500)
    hnsw = VectorIndex.build(base, hnsw_min_items=1)
    search = VectorIndex._faiss_search
    monkeypatch.setattr(  # a walk that comes back short
        VectorIndex,
        "_faiss_search",
        lambda self, q, k, a, *, graph: search(self, q, 3 if graph else k, a, graph=graph),
    )
    query, allowed = base[0], np.ones(len(base), bool)
    rows, _ = hnsw.top(query, 10, allowed)
    assert rows.tolist() == np.argsort(-(base @ query), kind="stable")[:10].tolist()
