"""Fraud evaluation metrics: threshold-free ranking quality and investigator-facing precision.

``roc_auc`` and ``average_precision`` return NaN when the labels hold a single class (the metric
is undefined there), so a job on an unlucky split logs NaN instead of crashing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN with a single class."""
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return math.nan
    return float(roc_auc_score(labels, scores))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise); NaN without frauds."""
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return math.nan
    return float(average_precision_score(labels, scores))


def card_precision_at_k(
    days: np.ndarray,
    customers: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    k: int,
    remove_detected: bool = False,
) -> float:
    """Daily card precision top-k, averaged over days (Fraud Detection Handbook, ch. 4.2).

    Each day, investigators can check ``k`` cards. A customer's risk that day is their highest
    transaction score and they count as compromised if any of their transactions that day is
    fraud. The day's precision is the number of compromised customers among the ``k`` riskiest,
    divided by ``k`` (as in the Handbook, a day with fewer than ``k`` customers still divides by
    ``k``: unused capacity counts against it).

    Args:
        days: the day of each transaction (anything hashable and sortable, e.g. dates).
        customers: customer (card) id of each transaction.
        labels: 0/1 fraud label of each transaction.
        scores: fraud score of each transaction.
        k: cards checked per day, >= 1.
        remove_detected: the Handbook's default (``remove_detected_compromised_cards=True``, used
            for its published tables): a compromised card found in an earlier day's top k is
            blocked and leaves later days' rankings. False keeps every card every day.

    Returns:
        The mean over days of the daily precision; NaN when there are no transactions.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    frame = pd.DataFrame({"day": days, "customer": customers, "label": labels, "score": scores})
    if frame.empty:
        return math.nan
    per_card = frame.groupby(["day", "customer"], sort=False).agg(
        score=("score", "max"), label=("label", "max")
    )
    per_card = per_card.reset_index().sort_values(["day", "score"], ascending=[True, False], kind="stable")
    if not remove_detected:
        top = per_card.groupby("day", sort=False).head(k)
        daily = top.groupby("day")["label"].sum() / k
        return float(daily.reindex(per_card["day"].unique(), fill_value=0.0).mean())
    detected: set = set()
    precisions = []
    for _, day in per_card.groupby("day", sort=True):
        top = day[~day["customer"].isin(detected)].head(k)
        hits = top[top["label"] == 1]
        precisions.append(len(hits) / k)
        detected.update(hits["customer"])
    return float(np.mean(precisions))
