"""Ranking metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from models.errors import InvalidInputError
from recsys.metrics import (
    average_precision_at_k,
    catalog_coverage,
    evaluate_rankings,
    hit_at_k,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
)

PREDICTED = ["a", "b", "c", "d"]
RELEVANT = {"b", "d", "x"}
D2, D3, D4 = 1 / math.log2(3), 1 / math.log2(4), 1 / math.log2(5)  # discounts at ranks 2, 3, 4


def test_metrics_at_3():
    # Hits at rank 2 only; three relevant items, so the ideal list has hits at ranks 1-3.
    assert ndcg_at_k(PREDICTED, RELEVANT, 3) == pytest.approx(D2 / (1 + D2 + D3))
    assert recall_at_k(PREDICTED, RELEVANT, 3) == pytest.approx(1 / 3)
    assert hit_at_k(PREDICTED, RELEVANT, 3) == 1.0
    assert average_precision_at_k(PREDICTED, RELEVANT, 3) == pytest.approx((1 / 2) / 3)
    assert reciprocal_rank_at_k(PREDICTED, RELEVANT, 3) == 0.5


def test_metrics_at_4():
    assert ndcg_at_k(PREDICTED, RELEVANT, 4) == pytest.approx((D2 + D4) / (1 + D2 + D3))
    assert recall_at_k(PREDICTED, RELEVANT, 4) == pytest.approx(2 / 3)
    assert average_precision_at_k(PREDICTED, RELEVANT, 4) == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_perfect_empty_and_missed_lists():
    assert ndcg_at_k(["x", "y"], {"x", "y"}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["a"], set(), 10) == 0.0 and recall_at_k(["a"], set(), 10) == 0.0
    assert hit_at_k(["a"], {"b"}, 10) == 0.0 and reciprocal_rank_at_k(["a"], {"b"}, 10) == 0.0
    assert ndcg_at_k(["x", "x"], {"x"}, 2) == pytest.approx(1.0)  # a repeated hit counts once


def test_coverage():
    assert catalog_coverage([["a", "b"], ["b", "c"]], 10) == pytest.approx(0.3)
    assert catalog_coverage([["a", "b"], ["b", "c"]], 10, k=1) == pytest.approx(0.2)
    with pytest.raises(InvalidInputError):
        catalog_coverage([], 0)


def test_evaluate_rankings_averages_over_users_with_relevant_items():
    predictions = {"u1": ["a", "b"], "u2": ["c", "d"], "u4": ["e"]}
    truth = {"u1": {"a"}, "u2": {"x"}, "u3": {"a"}, "u5": set()}
    metrics = evaluate_rankings(predictions, truth, k=2, catalog_size=10)
    # u1 hits at rank 1, u2 misses, u3 has no prediction (counts 0), u5 has nothing to find.
    assert metrics["hit_rate_at_2"] == pytest.approx(1 / 3)
    assert metrics["ndcg_at_2"] == pytest.approx(1 / 3)
    assert metrics["recall_at_2"] == pytest.approx(1 / 3)
    assert metrics["mrr_at_2"] == pytest.approx(1 / 3)
    assert metrics["map_at_2"] == pytest.approx(1 / 3)
    assert metrics["coverage"] == pytest.approx(0.5)


def test_evaluate_rankings_without_users_is_zero_and_k_is_checked():
    assert evaluate_rankings({}, {}, k=5)["ndcg_at_5"] == 0.0
    with pytest.raises(InvalidInputError):
        ndcg_at_k(["a"], {"a"}, 0)
