"""Metrics on values computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from search.metrics import (
    evaluate,
    judgments_by_query,
    mrr,
    ndcg_at_k,
    query_ndcg,
    query_recall,
    query_reciprocal_rank,
    recall_at_k,
)

RELS = {"a": 3.0, "b": 1.0, "c": 0.0}
L3 = math.log2(3)


def test_ndcg_exponential_gains() -> None:
    # ranked b (gain 2^1-1 = 1), a (2^3-1 = 7), x (unjudged: 0)
    dcg = 1 / 1 + 7 / L3
    idcg = 7 / 1 + 1 / L3
    assert query_ndcg(["b", "a", "x"], RELS, k=3) == pytest.approx(dcg / idcg)
    assert query_ndcg(["a", "b"], RELS, k=3) == pytest.approx(1.0)


def test_ndcg_linear_gains_and_cutoff() -> None:
    assert query_ndcg(["b", "a"], RELS, k=3, gain="linear") == pytest.approx((1 + 3 / L3) / (3 + 1 / L3))
    assert query_ndcg(["b", "a"], RELS, k=1, gain="linear") == pytest.approx(1 / 3)  # ideal@1 is a alone
    with pytest.raises(ValueError, match="exponential"):
        query_ndcg(["a"], RELS, gain="log")


def test_ideal_counts_relevant_items_never_retrieved() -> None:
    assert query_ndcg(["a"], RELS, k=3) == pytest.approx(7 / (7 + 1 / L3))
    assert query_ndcg([], RELS) == 0.0


def test_rr_and_recall() -> None:
    assert query_reciprocal_rank(["x", "b", "a"], RELS) == 0.5
    assert query_reciprocal_rank(["x", "c"], RELS) == 0.0  # c has relevance 0
    assert query_reciprocal_rank(["x", "b"], RELS, k=1) == 0.0
    assert query_recall(["x", "b", "a"], RELS, k=2) == 0.5
    assert query_recall(["a", "b"], RELS, k=2) == 1.0
    assert query_reciprocal_rank(["b", "a"], RELS, min_relevance=1.0) == 0.5


def test_queries_without_relevant_items_are_left_out_of_means() -> None:
    judgments = {"q1": RELS, "q2": {"z": 0.0}}
    rankings = {"q1": ["b", "a"], "q2": ["z"]}
    assert math.isnan(query_ndcg(["z"], {"z": 0.0}))
    assert mrr(rankings, judgments) == 1.0
    assert recall_at_k(rankings, judgments) == 1.0
    assert ndcg_at_k(rankings, judgments, k=3) == pytest.approx((1 + 7 / L3) / (7 + 1 / L3))


def test_missing_ranking_counts_as_empty() -> None:
    judgments = {"q1": RELS, "q2": {"a": 2.0}}
    assert ndcg_at_k({"q1": ["a", "b"]}, judgments) == pytest.approx(0.5)
    assert math.isnan(mrr({}, {}))


def test_judgments_by_query_and_evaluate() -> None:
    frame = pd.DataFrame(
        {"query": ["q", "q", "q", "r"], "item_id": ["a", "a", "b", "c"], "relevance": [1.0, 3.0, 0.0, 2.0]}
    )
    judged = judgments_by_query(frame)
    assert judged == {"q": {"a": 2.0, "b": 0.0}, "r": {"c": 2.0}}
    out = evaluate({"q": ["a"], "r": ["x", "c"]}, judged, k=10, prefix="m_")
    assert out == pytest.approx(
        {"m_ndcg_at_10": (1 + 1 / L3) / 2, "m_mrr_at_10": 0.75, "m_recall_at_10": 1.0}
    )
