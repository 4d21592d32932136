"""Offline ranking metrics over a holdout: what the training job reports and promotion compares.

Relevance is binary: an item is relevant to a user when they interacted with it in the holdout.
Per-user metrics are averaged over the users in ``truth``; a user without a prediction scores 0.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

from metrics import ranking
from models.errors import InvalidInputError


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be an integer >= 1, got {k!r}", field="k", value=k)


def _hits(predicted: Sequence[str], relevant: Collection[str], k: int) -> np.ndarray:
    """1.0 where the prediction at each rank (< k) is relevant; repeated ids count once."""
    seen: set[str] = set()
    hits = []
    for item in list(predicted)[:k]:
        hits.append(1.0 if item in relevant and item not in seen else 0.0)
        seen.add(item)
    return np.asarray(hits, dtype=np.float64)


def ndcg_at_k(predicted: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain of one ranked list (binary gains)."""
    _check_k(k)
    if not relevant:
        return 0.0
    return ranking.ndcg_at_k(_hits(predicted, relevant, k), np.ones(min(len(relevant), k)), k)


def recall_at_k(predicted: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the top ``k``."""
    _check_k(k)
    return float(_hits(predicted, relevant, k).sum() / len(relevant)) if relevant else 0.0


def hit_at_k(predicted: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when at least one relevant item is in the top ``k``, else 0.0."""
    _check_k(k)
    return float(_hits(predicted, relevant, k).any())


def average_precision_at_k(predicted: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Mean of precision@i over the ranks i of the hits, divided by ``min(|relevant|, k)``."""
    _check_k(k)
    if not relevant:
        return 0.0
    hits = _hits(predicted, relevant, k)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / min(len(relevant), k))


def reciprocal_rank_at_k(predicted: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1 / rank of the first relevant item in the top ``k`` (0.0 when there is none)."""
    _check_k(k)
    found = np.flatnonzero(_hits(predicted, relevant, k))
    return float(1.0 / (found[0] + 1)) if len(found) else 0.0


def catalog_coverage(predictions: Iterable[Sequence[str]], catalog_size: int, k: int | None = None) -> float:
    """Share of the catalog that appears in at least one (top-``k``) list."""
    if catalog_size < 1:
        raise InvalidInputError(
            f"catalog_size must be >= 1, got {catalog_size!r}", field="catalog_size", value=catalog_size
        )
    shown = {item for ranked in predictions for item in list(ranked)[:k]}
    return len(shown) / catalog_size


_PER_USER = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "hit_rate": hit_at_k,
    "map": average_precision_at_k,
    "mrr": reciprocal_rank_at_k,
}


def evaluate_rankings(
    predictions: Mapping[str, Sequence[str]],
    truth: Mapping[str, Collection[str]],
    *,
    k: int = 10,
    catalog_size: int | None = None,
) -> dict[str, float]:
    """Mean ranking metrics over the users of ``truth``.

    Args:
        predictions: user -> ranked item ids (best first).
        truth: user -> the items they really interacted with in the holdout; users with an empty
            set are skipped (nothing to find).
        k: cut-off.
        catalog_size: when given, ``coverage`` is added: the share of the catalog that appears in
            any top-``k`` list of ``predictions``.

    Returns:
        ``ndcg_at_{k}``, ``recall_at_{k}``, ``hit_rate_at_{k}``, ``map_at_{k}``, ``mrr_at_{k}``
        (and ``coverage``); all 0.0 when no user has relevant items.
    """
    _check_k(k)
    users = [u for u, items in truth.items() if items]
    result = {}
    for name, metric in _PER_USER.items():
        values = [metric(predictions.get(u, ()), truth[u], k) for u in users]
        result[f"{name}_at_{k}"] = float(np.mean(values)) if values else 0.0
    if catalog_size is not None:
        result["coverage"] = catalog_coverage(predictions.values(), catalog_size, k)
    return result
