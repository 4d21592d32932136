"""Forecast metrics on hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecasting.metrics import coverage, mae, mase, seasonal_naive_scale, wape

ACTUAL = np.array([10.0, 0.0, 5.0, 5.0])
PREDICTED = np.array([8.0, 1.0, 5.0, 9.0])  # absolute errors 2, 1, 0, 4


def test_mae_and_wape_by_hand():
    assert mae(ACTUAL, PREDICTED) == pytest.approx(7 / 4)
    assert wape(ACTUAL, PREDICTED) == pytest.approx(7 / 20)
    assert math.isnan(wape([0.0, 0.0], [1.0, 1.0]))
    assert math.isnan(mae([], []))


def test_seasonal_naive_scale_and_mase_by_hand():
    history = np.array([1.0, 2.0, 4.0, 2.0, 1.0])  # season 2: |4-1|, |2-2|, |1-4| -> mean 2
    assert seasonal_naive_scale(history, 2) == pytest.approx(2.0)
    rows = seasonal_naive_scale(np.array([[np.nan, np.nan, 1.0, 3.0, 2.0], [5.0] * 5]), 2)
    np.testing.assert_allclose(rows, [1.0, 0.0])  # NaN days (before the series starts) are skipped
    assert mase(ACTUAL, PREDICTED, scale=2.0) == pytest.approx(7 / 8)
    assert math.isnan(mase(ACTUAL, PREDICTED, scale=0.0))


def test_coverage_includes_the_bounds():
    assert coverage(ACTUAL, ACTUAL - 1, ACTUAL + 1) == 1.0
    assert coverage([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 0.0, 5.0], [1.0, 4.0, 3.0, 6.0]) == 0.5
