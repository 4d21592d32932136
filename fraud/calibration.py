"""Turn raw booster scores into calibrated fraud probabilities (Platt or isotonic).

The map is fitted on a validation window *later* than the booster's training rows (in-sample
scores of boosted trees are over-confident) and stored as plain numbers, so it saves to JSON.
Both maps are monotone non-decreasing; Platt scaling is strictly increasing and so keeps the
booster's ranking (and its AUC / average precision) intact, which is why it is the default:
isotonic regression is flat on steps and ties scores that the booster told apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

METHODS = ("platt", "isotonic")
_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def fit_calibration(scores: np.ndarray, labels: np.ndarray, *, method: str) -> dict[str, Any]:
    """Fit a calibration map from raw scores to probabilities.

    Args:
        scores: raw booster probabilities on validation rows.
        labels: their 0/1 labels (both classes needed).
        method: ``platt`` (logistic regression on the score's log-odds) or ``isotonic``.

    Returns:
        A JSON-ready map for ``apply_calibration``.

    Raises:
        ValueError: an unknown method.
    """
    if method == "platt":
        # Large C: no shrinkage towards a flat map; the single feature cannot overfit.
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(scores)[:, None], labels)
        slope = float(lr.coef_[0, 0])
        if slope <= 0:  # a useless validation window; keep the booster's own scale
            return {"method": "platt", "slope": 1.0, "intercept": 0.0}
        return {"method": "platt", "slope": slope, "intercept": float(lr.intercept_[0])}
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
        return {
            "method": "isotonic",
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
        }
    raise ValueError(f"Unknown calibration method {method!r}; expected one of {list(METHODS)}")


def apply_calibration(calibration: dict[str, Any], scores: np.ndarray) -> np.ndarray:
    """Calibrated probabilities in [0, 1] for raw scores."""
    scores = np.asarray(scores, dtype=float)
    if calibration["method"] == "platt":
        z = calibration["slope"] * _logit(scores) + calibration["intercept"]
        return 1.0 / (1.0 + np.exp(-z))
    return np.clip(np.interp(scores, calibration["x"], calibration["y"]), 0.0, 1.0)


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, *, bins: int = 10) -> float:
    """Mean |observed fraud rate - mean probability| over equal-count bins, weighted by size."""
    labels, probs = np.asarray(labels, dtype=float), np.asarray(probs, dtype=float)
    if len(probs) == 0:
        return float("nan")
    order = np.argsort(probs, kind="stable")
    total = 0.0
    for part in np.array_split(order, min(bins, len(order))):
        total += len(part) * abs(labels[part].mean() - probs[part].mean())
    return total / len(probs)


def brier_score(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(probs, dtype=float) - np.asarray(labels, dtype=float)) ** 2))
