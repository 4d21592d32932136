"""GlobalForecaster: horizon contract, intervals, covariates, frequencies, errors, persistence."""

from __future__ import annotations

import datetime
import json

import lightgbm
import numpy as np
import pandas as pd
import pytest

from forecasting.global_model import GlobalForecaster
from forecasting.panel import build_panel, future_covariates, infer_freq
from forecasting.types import ForecastPoint
from models.errors import (
    ArtifactError,
    DataValidationError,
    InvalidInputError,
    NotFittedError,
    UnknownIdError,
)
from models.loader import load_model

FAST = {"max_horizon": 14, "calibration_windows": 2, "n_estimators": 60, "num_leaves": 15}


def _promo_sales(days: int = 160, seed: int = 0) -> pd.DataFrame:
    """Two series with a weekly pattern, noise, and promotions that triple demand."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    parts = []
    for item, base in (("a", 10.0), ("b", 30.0)):
        promo = (rng.random(days) < 0.15).astype("int8")
        qty = base * (1 + 0.5 * (dates.dayofweek >= 5)) * (1 + 2 * promo) + rng.normal(0, 2, days)
        parts.append(
            pd.DataFrame(
                {
                    "item_id": item,
                    "store_id": "s1",
                    "date": dates,
                    "quantity": np.maximum(np.round(qty), 0),
                    "price": np.where(promo, 8.0, 10.0),
                    "promotion": promo,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def noisy(make_sales_frame) -> pd.DataFrame:
    return make_sales_frame(150, noise=2.0)


@pytest.fixture(scope="module")
def model(noisy) -> GlobalForecaster:
    return GlobalForecaster(**FAST).fit(noisy)


def test_forecast_has_exactly_horizon_points_after_the_last_date(model):
    for horizon in (1, 7, 14):
        points = model.forecast("a", store_id="s1", horizon=horizon)
        assert len(points) == horizon and all(isinstance(p, ForecastPoint) for p in points)
        first = datetime.date(2024, 1, 1) + datetime.timedelta(days=150)
        assert [p.date for p in points] == [first + datetime.timedelta(days=d) for d in range(horizon)]
    frame = model.predict(9)
    assert frame.groupby(["item_id", "store_id"]).size().tolist() == [9, 9, 9]


def test_intervals_contain_the_mean_widen_with_horizon_and_stay_non_negative(model):
    frame = model.predict(14)
    assert (frame["lower"] <= frame["mean"]).all() and (frame["mean"] <= frame["upper"]).all()
    assert (frame["lower"] >= 0).all()
    widths = np.diff(model.quantiles_)
    assert (widths >= 0).all() and model.quantiles_[-1] > 0
    points = model.forecast("b", store_id="s1", horizon=14)
    spans = [p.upper - p.mean for p in points]
    assert all(b >= a - 1e-9 for a, b in zip(spans, spans[1:], strict=False))


def test_the_model_learns_the_weekly_pattern(model, patterns):
    # Noise sd 2 around the pure pattern: the forecast should be close to the pattern itself.
    points = model.forecast("a", store_id="s1", horizon=14)
    truth = [patterns[("a", "s1")][p.date.weekday()] for p in points]
    assert np.mean(np.abs(np.array([p.mean for p in points]) - truth)) < 1.5


def test_store_none_sums_the_stores(model):
    total = model.forecast("a", horizon=5)
    parts = [model.forecast("a", store_id=s, horizon=5) for s in ("s1", "s2")]
    assert [p.mean for p in total] == pytest.approx([x.mean + y.mean for x, y in zip(*parts, strict=True)])


def test_future_promotions_from_a_calendar_raise_the_forecast():
    sales = _promo_sales()
    plain = GlobalForecaster(**FAST).fit(sales)
    end = sales["date"].max()
    calendar = pd.DataFrame(
        {
            "item_id": "a",
            "date": pd.date_range(end + pd.Timedelta(days=1), periods=14),
            "promotion": 1,
            "price": 8.0,
        }
    )
    promoted = GlobalForecaster(**FAST).fit(sales, calendar=calendar)
    before = np.mean([p.mean for p in plain.forecast("a", horizon=14)])
    after = np.mean([p.mean for p in promoted.forecast("a", horizon=14)])
    assert after > 1.5 * before  # promotions triple demand in the history
    # Series the calendar does not name keep the default (no promotion).
    b_plain, b_cal = plain.forecast("b", horizon=3), promoted.forecast("b", horizon=3)
    assert np.mean([p.mean for p in b_cal]) < 1.3 * np.mean([p.mean for p in b_plain])


def test_future_covariates_default_to_last_price_no_promotion_no_holiday():
    sales = _promo_sales(30).assign(holiday=0)
    panel = build_panel(sales)
    future = future_covariates(panel, 3)
    last_price = sales.sort_values("date").groupby("item_id")["price"].last().to_numpy()
    assert future["price"].to_numpy().tolist() == np.repeat(last_price, 3).tolist()
    assert (future["promotion"] == 0).all() and (future["holiday"] == 0).all()


@pytest.mark.parametrize(
    ("freq", "periods", "expected"), [("W-FRI", 130, "W-FRI"), ("MS", 60, "MS"), ("D", 60, "D")]
)
def test_frequency_is_inferred_and_forecast_dates_follow_it(freq, periods, expected):
    dates = pd.date_range("2015-01-02", periods=periods, freq=freq)
    rng = np.random.default_rng(1)
    season = 52 if freq.startswith("W") else 12 if freq == "MS" else 7
    qty = 50 + 10 * np.sin(2 * np.pi * np.arange(periods) / season) + rng.normal(0, 1, periods)
    sales = pd.DataFrame({"item_id": "x", "date": dates, "quantity": qty})
    assert infer_freq(sales["date"]) == expected
    m = GlobalForecaster(max_horizon=6, calibration_windows=2, n_estimators=30, min_child_samples=5).fit(
        sales
    )
    got = [pd.Timestamp(p.date) for p in m.forecast("x", horizon=6)]
    assert got == list(pd.date_range(dates[-1], periods=7, freq=freq)[1:])
    assert m.freq_ == expected


def test_poisson_objective_on_intermittent_demand_and_negative_sales_refused(make_sales_frame):
    rng = np.random.default_rng(2)
    sales = make_sales_frame(120)
    sales["quantity"] = rng.poisson(0.3, len(sales)).astype(float)
    m = GlobalForecaster(objective="poisson", **FAST).fit(sales)
    means = m.predict(14)["mean"]
    assert (means >= 0).all() and 0.05 < means.mean() < 1.0
    sales.loc[0, "quantity"] = -1.0
    with pytest.raises(InvalidInputError) as err:
        GlobalForecaster(objective="tweedie", **FAST).fit(sales)
    assert err.value.field == "objective"


def test_same_seed_same_forecast(noisy, model):
    again = GlobalForecaster(**FAST).fit(noisy)
    np.testing.assert_array_equal(again.mean_, model.mean_)


@pytest.mark.parametrize("horizon", [0, 15, 2.0, True, None])
def test_bad_horizon_names_the_maximum(model, horizon):
    with pytest.raises(InvalidInputError, match="between 1 and 14") as err:
        model.forecast("a", horizon=horizon)
    assert err.value.field == "horizon"


def test_unknown_ids_and_unfitted_model(model):
    with pytest.raises(UnknownIdError, match="Unknown item 'zzz'") as err:
        model.forecast("zzz")
    assert err.value.field == "item_id"
    with pytest.raises(UnknownIdError) as err:
        model.forecast("b", store_id="s2")
    assert err.value.field == "store_id"
    assert model.has_series("a", "s2") and not model.has_series("b", "s2")
    with pytest.raises(NotFittedError, match="GlobalForecaster"):
        GlobalForecaster().forecast("a")


@pytest.mark.parametrize(
    ("param", "value"),
    [("max_horizon", 0), ("level", 1.5), ("objective", "mape"), ("calibration_windows", 0), ("freq", "h")],
)
def test_bad_hyper_parameters_are_named(noisy, param, value):
    with pytest.raises(InvalidInputError) as err:
        GlobalForecaster(**{**FAST, param: value}).fit(noisy)
    assert err.value.field == param


def test_too_short_history_and_bad_columns_are_explained(make_sales_frame):
    with pytest.raises(DataValidationError, match="too few to calibrate"):
        GlobalForecaster(**FAST).fit(make_sales_frame(20))
    with pytest.raises(DataValidationError) as err:
        GlobalForecaster(**FAST).fit(make_sales_frame(60).drop(columns="quantity"))
    assert err.value.column == "quantity"


def test_save_load_gives_identical_outputs_without_pickles(model, tmp_path):
    path = model.save(tmp_path / "m")
    meta = json.loads((path / "meta.json").read_text())
    assert (meta["model_type"], meta["params"]["max_horizon"], meta["extra"]["freq"]) == (
        "lgbm_global",
        14,
        "D",
    )
    loaded = load_model(path, family="forecasting")
    assert isinstance(loaded, GlobalForecaster) and loaded.get_params() == model.get_params()
    pd.testing.assert_frame_equal(loaded.predict(14), model.predict(14))
    assert loaded.forecast("a", store_id="s2", horizon=7) == model.forecast("a", store_id="s2", horizon=7)
    with np.load(path / "forecasts.npz", allow_pickle=False) as payload:
        assert payload["item_ids"].dtype.kind == "U" and payload["mean"].shape == (3, 14)
    booster = lightgbm.Booster(model_str=(path / "booster.txt").read_text())
    assert booster.feature_name() == meta["extra"]["features"] and "lag7" in booster.feature_name()


def test_load_refuses_other_artifacts_and_bad_payloads(model, fitted, tmp_path):
    fitted.save(tmp_path / "naive")
    with pytest.raises(ArtifactError, match="model_type"):
        GlobalForecaster.load(tmp_path / "naive")
    path = model.save(tmp_path / "m")
    arrays = dict(np.load(path / "forecasts.npz", allow_pickle=False))
    np.savez(path / "forecasts.npz", **{**arrays, "mean": arrays["mean"][:, :3]})
    with pytest.raises(ArtifactError, match="shape"):
        GlobalForecaster.load(path)


@pytest.mark.parametrize(("freq", "expected"), [("W-FRI", [0, 0, 1, 0, 0]), ("D", [0, 0, 0, 0, 0])])
def test_future_holidays_repeat_last_years_flags_for_weekly_sales(freq, expected):
    """Weekly/monthly: the flag one season back (holidays recur yearly); daily: no guess, 0."""
    periods = 60 if freq == "W-FRI" else 380
    dates = pd.date_range("2021-01-01", periods=periods, freq=freq)
    flagged = periods + 2 - (52 if freq == "W-FRI" else 365)  # a year before the 3rd future period
    holiday = (np.arange(periods) == flagged).astype("int8")
    sales = pd.DataFrame({"item_id": "a", "date": dates, "quantity": 1.0, "holiday": holiday})
    future = future_covariates(build_panel(sales), 5)
    assert future["holiday"].tolist() == expected
