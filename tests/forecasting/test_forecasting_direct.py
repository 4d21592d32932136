"""GlobalForecaster's direct and ensemble strategies and the seasonal naive blend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import direct, seasonal
from forecasting.global_model import GlobalForecaster
from forecasting.panel import build_panel
from models.errors import InvalidInputError
from models.loader import load_model

FAST = {"max_horizon": 14, "calibration_windows": 2, "n_estimators": 60, "num_leaves": 15}


@pytest.fixture(scope="module")
def noisy(make_sales_frame) -> pd.DataFrame:
    return make_sales_frame(150, noise=2.0)


@pytest.mark.parametrize("strategy", ["direct", "ensemble"])
def test_direct_and_ensemble_forecast_every_series_and_round_trip(noisy, strategy, tmp_path):
    model = GlobalForecaster(strategy=strategy, **FAST).fit(noisy)
    frame = model.predict(14)
    assert len(frame) == 14 * noisy.groupby(["item_id", "store_id"]).ngroups
    assert np.isfinite(frame["mean"]).all() and (frame["lower"] >= 0).all()
    assert (frame["lower"] <= frame["mean"]).all() and (frame["mean"] <= frame["upper"]).all()
    # the forecasts follow each series' level (its mean over the last 28 days), whatever its size
    recent = noisy[noisy["date"] > noisy["date"].max() - pd.Timedelta(days=28)]
    level = recent.groupby(["item_id", "store_id"])["quantity"].mean()
    forecast = frame.groupby(["item_id", "store_id"])["mean"].mean()
    ratio = forecast / level.loc[forecast.index]
    assert ((ratio > 0.5) & (ratio < 2.0)).all(), ratio
    path = model.save(tmp_path / strategy)
    loaded = load_model(path, family="forecasting")
    pd.testing.assert_frame_equal(loaded.predict(14), frame)
    assert loaded.get_params()["strategy"] == strategy


def test_direct_model_sees_nothing_after_the_origin(noisy):
    """Changing the sales after a cutoff leaves the direct forecast from that cutoff unchanged."""
    cutoff = noisy["date"].sort_values().unique()[-20]
    history = noisy[noisy["date"] <= cutoff]
    altered = noisy.assign(
        quantity=np.where(noisy["date"] > cutoff, noisy["quantity"] * 5, noisy["quantity"])
    )
    params = {"horizon": 14, "objective": "l1", "max_rows": 5_000, "random_state": 0}
    lgbm = {"n_estimators": 30, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 5}
    panel = build_panel(history)
    model = direct.train(panel, lgbm_params=lgbm, **params)
    again = direct.train(build_panel(altered[altered["date"] <= cutoff]), lgbm_params=lgbm, **params)
    np.testing.assert_allclose(direct.predict(model, panel, 14, None), direct.predict(again, panel, 14, None))


def test_seasonal_blend_of_one_is_the_seasonal_naive(noisy):
    model = GlobalForecaster(seasonal_blend=1.0, **FAST).fit(noisy)
    panel = build_panel(noisy)
    naive = np.maximum(seasonal.seasonal_naive(panel.values, 14, 7), 0.0)
    np.testing.assert_allclose(model.mean_, naive)
    # the same weekday of the last week, repeated
    np.testing.assert_allclose(naive[:, :7], panel.values[:, -7:])
    np.testing.assert_allclose(naive[:, 7:], panel.values[:, -7:])


@pytest.mark.parametrize(
    ("param", "value"),
    [("strategy", "stacked"), ("seasonal_blend", 1.5), ("seasonal_blend", True), ("max_train_rows", 0)],
)
def test_bad_new_hyper_parameters_are_named(noisy, param, value):
    with pytest.raises(InvalidInputError) as err:
        GlobalForecaster(**{**FAST, param: value}).fit(noisy)
    assert err.value.field == param
