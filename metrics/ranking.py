"""Discounted cumulative gain, the one implementation every family's ranking metric uses.

``recsys.metrics`` (binary relevance from a holdout), ``search.metrics`` (graded judgments,
exponential gains, the ideal over every judged item) and the search re-ranker's validation
(``search.rerank``, the ideal within the candidate window) differ only in the gains they pass.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def dcg_at_k(gains: np.ndarray, k: int) -> float:
    """DCG@k of ``gains`` in rank order: the sum of gain / log2(rank + 1) over the first ``k``."""
    top = np.asarray(gains, dtype=np.float64)[:k]
    return float(np.dot(top, _discounts(k)[: len(top)]))


def ndcg_at_k(gains: np.ndarray, ideal_gains: np.ndarray, k: int) -> float:
    """DCG@k of ``gains`` over the DCG@k of ``ideal_gains`` sorted best first; NaN when the ideal
    has no positive gain (the ranking carries no signal either way)."""
    ideal = dcg_at_k(np.sort(np.asarray(ideal_gains, dtype=np.float64))[::-1], k)
    return dcg_at_k(gains, k) / ideal if ideal > 0 else math.nan


def exponential_gains(relevance: np.ndarray) -> np.ndarray:
    """``2**rel - 1`` (Burges et al. 2005): a highly relevant item is worth far more."""
    return np.power(2.0, np.asarray(relevance, dtype=np.float64)) - 1.0
