"""Combining keyword and semantic scores: normalised score fusion, RRF, and tuning the weight.

The candidates of a query are the keyword matches plus the semantic nearest neighbours, all
within the filters. Every candidate carries both scores: its BM25 score (0 when it shares no
word with the query) and its exact cosine to the query (computed for keyword matches too), so
fusion never has to guess a missing score.

- ``score`` fusion: ``w * minmax(cosine) + (1 - w) * bm25 / max(bm25) + c * coverage``, where
  coverage is the share of the query's words the item holds; ``w`` and ``c`` are tuned on
  judgments (grid search on NDCG@10) when a store has them (``c`` is 0 untuned).
- ``rrf`` (reciprocal rank fusion, Cormack et al. 2009): ``1/(60 + rank_bm25) + 1/(60 + rank_cos)``
  with only keyword matches ranked on the BM25 side; needs no tuning, so it is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from search.metrics import ndcg_at_k

RRF_K = 60
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))
COVERAGE_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
METHODS = ("hybrid", "bm25", "semantic", "rrf")


@dataclass(frozen=True)
class Candidates:
    """Positions of a query's candidates and their raw scores (aligned).

    ``matched`` (sorted positions) is every item that matched, when more matched than were kept
    as candidates; totals and facets count it.
    """

    rows: np.ndarray
    bm25: np.ndarray
    cosine: np.ndarray
    coverage: np.ndarray
    matched: np.ndarray | None = None
    tokens: tuple[str, ...] = ()  # the query tokens searched (typed + corrected words)
    corrected: bool = False  # whether a spelling correction was applied


def _minmax(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi > lo else np.ones(len(values))


def fused_scores(c: Candidates, method: str, weight: float, coverage: float = 0.0) -> np.ndarray:
    """One score per candidate, higher is better; the normalised scores lie in [0, 1].

    ``method`` is one of :data:`METHODS`: ``hybrid`` is score fusion with ``weight`` on the
    semantic side; ``bm25``/``semantic`` rank by one side only (keyword: non-matches get -1, so
    they never outrank a match).
    """
    bm25 = c.bm25.astype(np.float64)
    top = float(bm25.max()) if len(bm25) else 0.0
    kw = bm25 / top if top > 0 else np.zeros(len(bm25))
    if method == "bm25":
        return np.where(bm25 > 0, kw, -1.0)
    if method == "semantic":
        return c.cosine.astype(np.float64)
    if method == "rrf":
        return _rrf(bm25, c.cosine)
    fused = weight * _minmax(c.cosine.astype(np.float64)) + (1.0 - weight) * kw
    return fused + coverage * c.coverage if coverage else fused


def _rrf(bm25: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    score = np.zeros(len(bm25))
    matched = np.flatnonzero(bm25 > 0)
    kw_rank = np.empty(len(matched))
    kw_rank[np.argsort(-bm25[matched], kind="stable")] = np.arange(1, len(matched) + 1)
    score[matched] += 1.0 / (RRF_K + kw_rank)
    cos_rank = np.empty(len(cosine))
    cos_rank[np.argsort(-cosine, kind="stable")] = np.arange(1, len(cosine) + 1)
    return score + 1.0 / (RRF_K + cos_rank)


def tune_weight(
    candidates: Mapping[str, Candidates],
    judgments: Mapping[str, Mapping[str, float]],
    ids_of: Callable[[np.ndarray], Sequence[str]],
    *,
    k: int = 10,
) -> tuple[tuple[float, float], dict[str, float]]:
    """The (semantic, coverage) weights with the best mean NDCG@k on ``judgments``.

    The grid is :data:`WEIGHT_GRID` x :data:`COVERAGE_GRID`.

    Args:
        candidates: each judged query's candidates.
        judgments: query -> {item_id: relevance}.
        ids_of: positions -> item ids.
        k: the cut-off.

    Returns:
        The best pair (ties: semantic weight nearest 0.5, then less coverage) and NDCG@k per
        pair, keyed ``"w=0.40,c=0.50"``.
    """
    curve = {}
    for c_w in COVERAGE_GRID:
        for w in WEIGHT_GRID:
            rankings = {q: ids_of(rank(c, "hybrid", w, k, coverage=c_w)[0]) for q, c in candidates.items()}
            curve[(w, c_w)] = ndcg_at_k(rankings, judgments, k)
    best = min(curve, key=lambda p: (-round(curve[p], 6), abs(p[0] - 0.5), p[1], p[0]))
    return best, {f"w={w:.2f},c={c_w:.2f}": v for (w, c_w), v in curve.items()}


def rank(
    c: Candidates,
    method: str,
    weight: float,
    k: int,
    bonus: np.ndarray | None = None,
    coverage: float = 0.0,
    rescore: Callable[[Candidates, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and scores of the ``k`` best candidates under ``method`` (plus ``bonus``), best first.

    ``rescore(c, fused)`` (a learned re-ranker, :mod:`search.rerank`) may replace the fused scores.
    """
    score = fused_scores(c, method, weight, coverage)
    if rescore is not None:
        score = rescore(c, score)
    if bonus is not None and len(score):
        # On one scale whatever the fusion (RRF scores are ~0.03), so a penalty means the same.
        top = float(score.max())
        score = (score / top if top > 0 else score) + bonus
    if method == "bm25":
        keep = c.bm25 > 0
        rows, score = c.rows[keep], score[keep]
    else:
        rows = c.rows
    order = np.lexsort((rows, -score))[:k]
    return rows[order], score[order]
