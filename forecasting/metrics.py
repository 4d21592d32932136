"""Forecast accuracy metrics on aligned arrays of actual and forecast values.

Undefined cases (no demand for WAPE, a zero in-sample scale for MASE, empty input) return NaN
rather than raising, so a job logs them instead of crashing on a quiet series.
"""

from __future__ import annotations

import math

import numpy as np


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error."""
    err = np.abs(np.asarray(actual, float) - np.asarray(predicted, float))
    return float(err.mean()) if err.size else math.nan


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |actual - predicted| / sum |actual|.

    Unlike MAPE it stays defined on days without sales, and it weights series by volume.
    """
    actual = np.asarray(actual, float)
    total = np.abs(actual).sum()
    if total == 0:
        return math.nan
    return float(np.abs(actual - np.asarray(predicted, float)).sum() / total)


def seasonal_naive_scale(history: np.ndarray, season_length: int) -> np.ndarray:
    """In-sample MAE of the seasonal naive forecast, mean |y_t - y_{t-s}|, along the last axis.

    NaNs (days before a series starts) are ignored. A 2-D (series, days) history gives one value
    per series, a 1-D history a 0-d array; NaN where no difference exists.
    """
    history = np.asarray(history, float)
    diffs = np.abs(history[..., season_length:] - history[..., :-season_length])
    counts = np.sum(~np.isnan(diffs), axis=-1)
    sums = np.nansum(diffs, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return scale


def mase(actual: np.ndarray, predicted: np.ndarray, *, scale: float) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample seasonal naive MAE ``scale``.

    Below 1 beats the in-sample seasonal naive forecast; NaN when ``scale`` is 0 or NaN.
    """
    if not math.isfinite(scale) or scale <= 0:
        return math.nan
    return mae(actual, predicted) / scale


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside their [lower, upper] interval (bounds included)."""
    actual = np.asarray(actual, float)
    if actual.size == 0:
        return math.nan
    inside = (actual >= np.asarray(lower, float)) & (actual <= np.asarray(upper, float))
    return float(inside.mean())
