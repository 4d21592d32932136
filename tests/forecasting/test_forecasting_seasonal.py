"""The seasonal regression baseline and GlobalForecaster's blend with it (weekly data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.global_model import GlobalForecaster
from forecasting.panel import build_panel
from forecasting.seasonal import seasonal_regression
from models.errors import InvalidInputError
from models.loader import load_model

SEASON = 52
WEEKS = np.arange(130)
PROFILE = 100 + 40 * np.sin(2 * np.pi * np.arange(SEASON) / SEASON)  # a week-of-year shape


def test_week_effects_plus_a_linear_trend_are_extrapolated_exactly():
    """y = profile[week of year] + c * t is the regression's model: it forecasts it without error."""
    slopes = np.array([0.0, 0.5, -0.2])
    values = PROFILE[WEEKS % SEASON][None, :] + slopes[:, None] * WEEKS[None, :]
    future = np.arange(130, 130 + 60)  # past one season ahead too
    expected = PROFILE[future % SEASON][None, :] + slopes[:, None] * future[None, :]
    np.testing.assert_allclose(seasonal_regression(values, 60, SEASON, rank=None), expected, atol=1e-9)


def test_without_trend_the_level_is_the_mean_of_every_season_at_that_phase():
    """Two seasons that differ by +-d with no net change: the forecast is their mean, not the last."""
    first = PROFILE.copy()
    second = PROFILE + np.where(np.arange(SEASON) % 2 == 0, 6.0, -6.0)  # year-on-year mean change 0
    values = np.concatenate([first, second])[None, :]
    out = seasonal_regression(values, SEASON, SEASON, rank=None)
    np.testing.assert_allclose(out[0], (first + second) / 2)


def test_a_series_younger_than_a_season_falls_back_to_its_recent_mean():
    values = np.full((1, 130), np.nan)
    values[0, -10:] = [5, 5, 5, 5, 5, 5, 8, 8, 8, 8]  # 10 weeks old
    out = seasonal_regression(values, 4, SEASON, rank=None)
    np.testing.assert_allclose(out, 8.0)  # no same week last year: the last 4 weeks' mean


def test_denoising_pools_the_stores_of_an_item():
    """One store's one-off spike last year is mostly removed by the rank-1 reconstruction."""
    stores = np.array([1.0, 2.0, 3.0, 1.5, 2.5])[:, None] * PROFILE[WEEKS % SEASON][None, :]
    spiked = stores.copy()
    spiked[0, 100] += 500.0  # week 100 is one season before the forecast of week 152
    items = np.array(["a"] * 5)
    raw = seasonal_regression(spiked, 30, SEASON, rank=None)
    pooled = seasonal_regression(spiked, 30, SEASON, groups=items, rank=1)
    clean = seasonal_regression(stores, 30, SEASON, rank=None)
    step = 100 + SEASON - 130  # the forecast step whose same phase last year is week 100
    assert abs(raw[0, step] - clean[0, step]) > 100
    assert abs(pooled[0, step] - clean[0, step]) < 0.2 * abs(raw[0, step] - clean[0, step])


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    dates = pd.date_range("2021-01-01", periods=len(WEEKS), freq="W-FRI")
    parts = []
    for item, store, size in [("a", "s1", 1.0), ("a", "s2", 2.0), ("a", "s3", 0.5), ("b", "s1", 3.0)]:
        qty = size * PROFILE[WEEKS % SEASON] * (1 + 0.002 * WEEKS) + rng.normal(0, 5 * size, len(WEEKS))
        frame = {"item_id": item, "store_id": store, "date": dates, "quantity": np.maximum(qty, 0)}
        parts.append(pd.DataFrame(frame))
    return pd.concat(parts, ignore_index=True)


FAST = {"max_horizon": 8, "calibration_windows": 2, "n_estimators": 40, "num_leaves": 7, "freq": "W-FRI"}


def test_seasonal_blend_of_one_with_the_regression_serves_the_regression(weekly, tmp_path):
    model = GlobalForecaster(seasonal_blend=1.0, seasonal_baseline="regression", **FAST).fit(weekly)
    panel = build_panel(weekly, "W-FRI")
    expected = np.maximum(seasonal_regression(panel.values, 8, SEASON, groups=panel.item_ids), 0.0)
    np.testing.assert_allclose(model.mean_, expected)
    half = GlobalForecaster(seasonal_blend=0.5, seasonal_baseline="regression", **FAST).fit(weekly)
    alone = GlobalForecaster(**FAST).fit(weekly)
    np.testing.assert_allclose(half.mean_, (alone.mean_ + model.mean_) / 2)
    assert (half.lower_ <= half.mean_).all() and (half.mean_ <= half.upper_).all()
    loaded = load_model(half.save(tmp_path / "blend"), family="forecasting")
    assert loaded.get_params()["seasonal_baseline"] == "regression"
    pd.testing.assert_frame_equal(loaded.predict(8), half.predict(8))


def test_an_unknown_seasonal_baseline_is_named(weekly):
    with pytest.raises(InvalidInputError) as err:
        GlobalForecaster(seasonal_baseline="prophet", **FAST).fit(weekly)
    assert err.value.field == "seasonal_baseline" and "regression" in str(err.value)
