"""Decision thresholds on hand-made scores with known answers."""

from __future__ import annotations

import numpy as np

from fraud.thresholds import FALLBACK_DECLINE_QUANTILE, decision_thresholds


def test_decline_is_lowest_score_meeting_precision_and_review_sits_below():
    scores = np.linspace(1.0, 0.05, 20)  # distinct, descending
    labels = np.zeros(20, dtype=int)
    labels[[0, 1, 2, 3, 4, 5, 6, 7, 9]] = 1  # top 10 hold 9 frauds: precision 0.9 at rank 10
    labels[12] = 1  # precision at rank 13 is 10/13 < 0.9
    out = decision_thresholds(labels, scores, review_rate=0.1, decline_precision=0.9)
    assert out["decline"] == scores[9]
    assert out["decline_precision_reached"] is True
    assert out["review"] == scores[11]  # 10 % of 20 = 2 rows just below the decline cut
    assert out["calibration_rows"] == 20


def test_ties_are_never_split():
    scores = np.array([0.9] * 12 + [0.1] * 8)
    labels = np.array([1] * 11 + [0] + [0] * 8)  # 11/12 = 0.917 at the tie's end
    out = decision_thresholds(labels, scores, review_rate=0.0, decline_precision=0.9)
    assert out["decline"] == 0.9
    assert out["review"] == out["decline"]  # review_rate 0: nobody reviewed


def test_unreachable_precision_falls_back_to_a_high_quantile():
    rng = np.random.default_rng(0)
    scores = rng.random(500)
    labels = (rng.random(500) < 0.05).astype(int)  # scores carry no signal
    out = decision_thresholds(labels, scores, review_rate=0.02, decline_precision=0.9)
    assert out["decline_precision_reached"] is False
    assert out["decline"] == np.quantile(scores, FALLBACK_DECLINE_QUANTILE)
    assert out["review"] < out["decline"]
    flagged = ((scores >= out["review"]) & (scores < out["decline"])).mean()
    assert flagged == 0.02


def test_tiny_support_does_not_count():
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    labels = np.array([1, 1, 1, 0, 0])  # perfect, but only 3 rows flagged
    out = decision_thresholds(labels, scores, review_rate=0.2, decline_precision=0.9)
    assert out["decline_precision_reached"] is False
