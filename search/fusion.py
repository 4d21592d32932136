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

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from search.metrics import ideal_dcg

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
    kw = _keyword_share(c)
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

    The grid is :data:`WEIGHT_GRID` x :data:`COVERAGE_GRID`. Every pair of a query is scored in
    one array operation: the rankings and NDCG values equal ``rank(c, "hybrid", w, k,
    coverage=c)`` scored by :func:`search.metrics.query_ndcg`, bit for bit (a test checks it),
    at a fraction of the cost, so a settings search can afford to re-tune the fusion per trial.

    Args:
        candidates: each judged query's candidates.
        judgments: query -> {item_id: relevance}.
        ids_of: positions -> item ids.
        k: the cut-off.

    Returns:
        The best pair (ties: semantic weight nearest 0.5, then less coverage) and NDCG@k per
        pair, keyed ``"w=0.40,c=0.50"``.
    """
    pairs = [(w, c_w) for c_w in COVERAGE_GRID for w in WEIGHT_GRID]
    weights = np.array([w for w, _ in pairs])[:, None]
    coverages = np.array([c_w for _, c_w in pairs])[:, None]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    values = np.full((len(judgments), len(pairs)), np.nan)
    for i, (q, rels) in enumerate(judgments.items()):
        idcg = ideal_dcg(rels, k)
        c = candidates.get(q)
        if idcg <= 0:
            continue
        if c is None or not len(c.rows):
            values[i] = 0.0
            continue
        gains = (
            np.power(2.0, np.array([rels.get(item, 0.0) for item in ids_of(c.rows)], dtype=np.float64)) - 1.0
        )
        fused = weights * _minmax(c.cosine.astype(np.float64)) + (1.0 - weights) * _keyword_share(c)
        # + 0 * coverage leaves a score unchanged, so the c=0 rows equal rank's (no coverage term)
        for j, top in enumerate(_top_positions(fused + coverages * c.coverage, k)):
            got = gains[top]
            values[i, j] = float(np.dot(got, discounts[: len(got)])) / idcg
    curve = {}
    for j, pair in enumerate(pairs):
        kept = [v for v in values[:, j].tolist() if not math.isnan(v)]
        curve[pair] = float(np.mean(kept)) if kept else math.nan
    best = min(curve, key=lambda p: (-round(curve[p], 6), abs(p[0] - 0.5), p[1], p[0]))
    return best, {f"w={w:.2f},c={c_w:.2f}": v for (w, c_w), v in curve.items()}


def _keyword_share(c: Candidates) -> np.ndarray:
    """BM25 scaled by the query's best (as :func:`fused_scores` does)."""
    bm25 = c.bm25.astype(np.float64)
    top = float(bm25.max()) if len(bm25) else 0.0
    return bm25 / top if top > 0 else np.zeros(len(bm25))


def _top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the positions of its ``k`` best scores, best first, ties by position (as ``rank``).

    Only the columns that reach some row's top ``k`` (ties at the k-th value included) are sorted.
    """
    if scores.shape[1] > k:
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
        keep = np.flatnonzero((scores >= kth[:, None]).any(axis=0))
    else:
        keep = np.arange(scores.shape[1])
    order = np.argsort(-scores[:, keep], axis=1, kind="stable")[:, :k]
    return keep[order]


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
