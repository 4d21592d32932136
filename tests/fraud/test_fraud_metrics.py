"""Fraud metrics on hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraud.metrics import average_precision, card_precision_at_k, roc_auc


def test_average_precision_and_roc_auc_by_hand():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert average_precision(labels, scores) == pytest.approx((1 + 2 / 3) / 2)
    assert roc_auc(labels, scores) == pytest.approx(3 / 4)  # 3 of 4 (fraud, genuine) pairs ordered


def test_single_class_gives_nan():
    assert math.isnan(roc_auc([0, 0], [0.1, 0.2]))
    assert math.isnan(average_precision([0, 0], [0.1, 0.2]))


def test_card_precision_at_k_by_hand():
    days = ["d1", "d1", "d1", "d2", "d2", "d2", "d2", "d3"]
    customers = ["A", "B", "C", "A", "D", "D", "E", "F"]
    labels = [1, 0, 1, 0, 0, 1, 1, 1]
    scores = [0.9, 0.8, 0.1, 0.2, 0.7, 0.3, 0.6, 0.5]
    # d1: top-2 cards A (fraud), B -> 1/2.  d2: D (max 0.7, had a fraud), E (fraud) -> 2/2.
    # d3: only F (fraud) but k = 2 investigators' slots -> 1/2 (Handbook convention).
    got = card_precision_at_k(np.array(days), np.array(customers), np.array(labels), np.array(scores), k=2)
    assert got == pytest.approx((0.5 + 1.0 + 0.5) / 3)


def test_card_precision_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        card_precision_at_k(np.array([1]), np.array(["a"]), np.array([1]), np.array([0.5]), k=0)
