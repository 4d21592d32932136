"""Ranking metrics over graded relevance judgments, grouped by query.

Conventions (shared by the training job and the benchmarks):

- ``judgments`` maps query -> {item_id: relevance}; an item missing from a query's judgments
  has relevance 0, so ranking unjudged items costs nothing but earns nothing either.
- NDCG uses **exponential gains** ``2**rel - 1`` (Burges et al. 2005, the LETOR/Kaggle form): a
  highly relevant item is worth much more than a somewhat relevant one. ``gain="linear"``
  (``rel``) is available. The ideal DCG is computed over *all* judged items of the query, not
  only those retrieved, so missing a relevant item lowers the score.
- An item is "relevant" for MRR and recall when its relevance exceeds ``min_relevance`` (0).
- Queries without any relevant item carry no signal and are left out of every mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from metrics import ranking

Judgments = Mapping[str, Mapping[str, float]]
Rankings = Mapping[str, Sequence[str]]


def judgments_by_query(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``search_judgments`` rows (query, item_id, relevance) -> {query: {item_id: relevance}}.

    A repeated (query, item) pair keeps its mean relevance.
    """
    means = frame.groupby(["query", "item_id"], sort=False)["relevance"].mean()
    out: dict[str, dict[str, float]] = {}
    for (query, item), rel in means.items():
        out.setdefault(str(query), {})[str(item)] = float(rel)
    return out


def _gains(rels: np.ndarray, gain: str) -> np.ndarray:
    if gain == "exponential":
        return ranking.exponential_gains(rels)
    if gain == "linear":
        return rels.astype(np.float64)
    raise ValueError(f"Unknown gain {gain!r}; expected one of ['exponential', 'linear']")


def query_ndcg(
    ranked: Sequence[str], rels: Mapping[str, float], k: int = 10, *, gain: str = "exponential"
) -> float:
    """NDCG@k of one ranking; NaN when the query has no positive gain (see module notes)."""
    got = _gains(np.array([rels.get(i, 0.0) for i in list(ranked)[:k]], dtype=np.float64), gain)
    return ranking.ndcg_at_k(got, _gains(np.array(list(rels.values()), dtype=np.float64), gain), k)


def ideal_dcg(rels: Mapping[str, float], k: int = 10, *, gain: str = "exponential") -> float:
    """DCG@k of the best possible ranking of the judged items (the NDCG denominator)."""
    ideal = _gains(np.sort(np.array(list(rels.values()), dtype=np.float64))[::-1][:k], gain)
    return ranking.dcg_at_k(ideal, k)


def query_reciprocal_rank(
    ranked: Sequence[str], rels: Mapping[str, float], k: int = 10, *, min_relevance: float = 0.0
) -> float:
    """1 / rank of the first relevant item in the top ``k`` (0 if none); NaN without relevant items."""
    if not any(r > min_relevance for r in rels.values()):
        return math.nan
    for pos, item in enumerate(list(ranked)[:k], start=1):
        if rels.get(item, 0.0) > min_relevance:
            return 1.0 / pos
    return 0.0


def query_recall(
    ranked: Sequence[str], rels: Mapping[str, float], k: int = 10, *, min_relevance: float = 0.0
) -> float:
    """Share of the relevant items found in the top ``k``; NaN without relevant items."""
    relevant = {i for i, r in rels.items() if r > min_relevance}
    if not relevant:
        return math.nan
    return len(relevant.intersection(list(ranked)[:k])) / len(relevant)


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def ndcg_at_k(rankings: Rankings, judgments: Judgments, k: int = 10, *, gain: str = "exponential") -> float:
    """Mean NDCG@k over the judged queries (a query missing from ``rankings`` ranked nothing)."""
    return _mean([query_ndcg(rankings.get(q, ()), rels, k, gain=gain) for q, rels in judgments.items()])


def mrr(rankings: Rankings, judgments: Judgments, k: int = 10, *, min_relevance: float = 0.0) -> float:
    """Mean reciprocal rank of the first relevant item within the top ``k``."""
    return _mean(
        [
            query_reciprocal_rank(rankings.get(q, ()), r, k, min_relevance=min_relevance)
            for q, r in judgments.items()
        ]
    )


def recall_at_k(
    rankings: Rankings, judgments: Judgments, k: int = 10, *, min_relevance: float = 0.0
) -> float:
    """Mean share of each query's relevant items found in its top ``k``."""
    return _mean(
        [query_recall(rankings.get(q, ()), r, k, min_relevance=min_relevance) for q, r in judgments.items()]
    )


def evaluate(
    rankings: Rankings, judgments: Judgments, k: int = 10, *, prefix: str = "", gain: str = "exponential"
) -> dict[str, float]:
    """``{prefix}ndcg_at_{k}``, ``{prefix}mrr_at_{k}`` and ``{prefix}recall_at_{k}`` in one dict."""
    return {
        f"{prefix}ndcg_at_{k}": ndcg_at_k(rankings, judgments, k, gain=gain),
        f"{prefix}mrr_at_{k}": mrr(rankings, judgments, k),
        f"{prefix}recall_at_{k}": recall_at_k(rankings, judgments, k),
    }
