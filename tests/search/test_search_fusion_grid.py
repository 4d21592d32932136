"""The vectorised fusion grid equals scoring every grid pair with ``rank`` one by one, bit for bit."""

from __future__ import annotations

import numpy as np

from search.fusion import COVERAGE_GRID, WEIGHT_GRID, Candidates, rank, tune_weight
from search.metrics import ndcg_at_k


def _reference(candidates, judgments, ids_of, k=10):
    """The grid as it was computed before: one ``rank`` call per (query, pair)."""
    curve = {}
    for c_w in COVERAGE_GRID:
        for w in WEIGHT_GRID:
            rankings = {q: ids_of(rank(c, "hybrid", w, k, coverage=c_w)[0]) for q, c in candidates.items()}
            curve[(w, c_w)] = ndcg_at_k(rankings, judgments, k)
    best = min(curve, key=lambda p: (-round(curve[p], 6), abs(p[0] - 0.5), p[1], p[0]))
    return best, {f"w={w:.2f},c={c_w:.2f}": v for (w, c_w), v in curve.items()}


def _random_case(rng: np.random.Generator, n_queries: int = 40, n_items: int = 300):
    ids = [f"i{j}" for j in range(n_items)]
    candidates, judgments = {}, {}
    for q in range(n_queries):
        n = int(rng.integers(0, 60))
        rows = np.sort(rng.choice(n_items, size=n, replace=False)).astype(np.int64)
        # coarse values, so ties (also at the k-th place) are common
        bm25 = np.where(rng.random(n) < 0.4, 0.0, rng.integers(0, 5, n) * 0.5).astype(np.float32)
        cosine = (rng.integers(0, 6, n) / 6).astype(np.float32)
        coverage = rng.integers(0, 3, n) / 2
        candidates[f"q{q}"] = Candidates(rows, bm25, cosine, coverage)
        judged = rng.choice(n_items, size=5, replace=False)
        judgments[f"q{q}"] = {ids[j]: float(rng.integers(0, 3)) for j in judged}
    judgments["unfetched"] = {"i1": 2.0}  # judged, but no candidates were computed
    return candidates, judgments, (lambda rows: [ids[r] for r in rows])


def test_the_vectorised_grid_equals_ranking_each_pair() -> None:
    rng = np.random.default_rng(0)
    for _ in range(3):
        candidates, judgments, ids_of = _random_case(rng)
        for k in (3, 10):
            assert tune_weight(candidates, judgments, ids_of, k=k) == _reference(
                candidates, judgments, ids_of, k=k
            )
