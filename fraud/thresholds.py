"""Decision thresholds (approve / review / decline) chosen from labelled scores.

How they are set (``decision_thresholds``):

* ``decline``: the lowest score ``t`` such that, among scored transactions with score >= ``t``,
  at least ``decline_precision`` are fraud. Cuts that flag fewer than ``MIN_DECLINE_SUPPORT``
  transactions are ignored, because a precision measured on a handful of rows is anecdotal. When
  no cut reaches the target, ``decline`` falls back to the 99.9th percentile of the scores.
* ``review``: a fixed share of traffic, ``review_rate``, goes to human analysts (their queue has a
  capacity). It is taken from the scores just below ``decline``, the uncertain band, so
  ``review <= decline`` always and roughly ``review_rate`` of traffic is reviewed on top of the
  declines.

The scores should not come from the model that saw their labels: in-sample scores of a boosted
model are over-confident on frauds, which would make ``decline`` far too low.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fraud.types import APPROVE, DECLINE, REVIEW

MIN_DECLINE_SUPPORT = 10
FALLBACK_DECLINE_QUANTILE = 0.999


def decision_thresholds(
    labels: np.ndarray, scores: np.ndarray, *, review_rate: float, decline_precision: float
) -> dict[str, Any]:
    """Choose review and decline thresholds (see the module docstring).

    Args:
        labels: 0/1 fraud labels.
        scores: fraud probabilities of the same transactions, ideally out of sample.
        review_rate: share of all traffic to send to review, in [0, 1].
        decline_precision: smallest acceptable fraud share among declined transactions.

    Returns:
        ``review`` and ``decline`` thresholds (a transaction is declined when ``score >= decline``,
        reviewed when ``review <= score < decline``), ``decline_precision_reached`` and the
        ``calibration_rows`` the thresholds were estimated on.
    """
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], labels[order].astype(float)
    flagged = np.arange(1, len(ranked) + 1)
    precision = np.cumsum(hits) / flagged
    # A threshold flags every tied score at once, so only the last row of a tie is a valid cut.
    end_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    ok = end_of_tie & (precision >= decline_precision) & (flagged >= MIN_DECLINE_SUPPORT)
    reached = bool(ok.any())
    if reached:
        decline = float(ranked[np.flatnonzero(ok)[-1]])
    else:
        decline = float(np.quantile(scores, FALLBACK_DECLINE_QUANTILE))
    below = ranked[ranked < decline]
    n_review = int(round(review_rate * len(scores)))
    review = float(below[min(n_review, len(below)) - 1]) if n_review and len(below) else decline
    return {
        "review": review,
        "decline": decline,
        "decline_precision_reached": reached,
        "calibration_rows": int(len(scores)),
    }


def decisions(scores: Any, thresholds: dict[str, Any]) -> np.ndarray:
    """``decline`` at or above ``thresholds["decline"]``, ``review`` at or above ``["review"]``,
    else ``approve`` (NaN approves). Two ``np.where``: ``np.select`` costs more per checkout call."""
    scores = np.asarray(scores, dtype=float)
    return np.where(
        scores >= thresholds["decline"], DECLINE, np.where(scores >= thresholds["review"], REVIEW, APPROVE)
    )
