"""SeasonalNaiveForecaster: known answers, invariants, errors and persistence."""

from __future__ import annotations

import datetime
import json
import math

import numpy as np
import pandas as pd
import pytest

from forecasting.naive import SeasonalNaiveForecaster
from forecasting.types import ForecastPoint
from models.errors import (
    ArtifactError,
    DataValidationError,
    InvalidInputError,
    NotFittedError,
    UnknownIdError,
)


def _day(n: int) -> datetime.date:
    return datetime.date(2024, 1, 1) + datetime.timedelta(days=n)


def test_pure_weekly_pattern_is_reproduced_with_zero_width_intervals(fitted, patterns):
    points = fitted.forecast("a", store_id="s1", horizon=14)
    # 70 days end on Sunday 2024-03-10, so the forecast starts on a Monday.
    assert [p.mean for p in points] == patterns[("a", "s1")] * 2
    assert all(p.lower == p.mean == p.upper for p in points)
    assert all(isinstance(p, ForecastPoint) for p in points)


def test_forecast_has_horizon_consecutive_days_after_the_last_date(fitted):
    for horizon in (1, 7, 30, fitted.max_horizon):
        points = fitted.forecast("b", store_id="s1", horizon=horizon)
        assert [p.date for p in points] == [_day(70 + d) for d in range(horizon)]


def test_predict_gives_exactly_h_rows_per_series(fitted):
    frame = fitted.predict(9)
    assert list(frame.columns) == ["item_id", "store_id", "date", "mean", "lower", "upper"]
    assert frame.groupby(["item_id", "store_id"]).size().tolist() == [9, 9, 9]
    for _, part in frame.groupby(["item_id", "store_id"]):
        assert (part["date"].diff().dropna() == pd.Timedelta(days=1)).all()
        assert part["date"].iloc[0] == pd.Timestamp("2024-03-11")


def test_predict_matches_forecast(fitted):
    frame = fitted.predict(10)
    part = frame[(frame["item_id"] == "a") & (frame["store_id"] == "s2")]
    points = fitted.forecast("a", store_id="s2", horizon=10)
    assert part["mean"].tolist() == [p.mean for p in points]
    assert part["upper"].tolist() == [p.upper for p in points]


def test_store_none_uses_the_only_store_or_sums_all_stores(fitted, patterns):
    assert fitted.forecast("b", horizon=7) == fitted.forecast("b", store_id="s1", horizon=7)
    total = fitted.forecast("a", horizon=7)
    assert [p.mean for p in total] == [
        x + y for x, y in zip(patterns[("a", "s1")], patterns[("a", "s2")], strict=True)
    ]


def test_intervals_by_hand():
    # season 2, errors y_t - y_{t-2} = [1, 2, 0, 2]; 25th/75th percentiles 0.75 and 2.
    sales = pd.DataFrame(
        {
            "item_id": "x",
            "date": pd.date_range("2024-01-01", periods=6),
            "quantity": [0.0, 0.0, 1.0, 2.0, 1.0, 4.0],
        }
    )
    model = SeasonalNaiveForecaster(season_length=2, level=0.5).fit(sales)
    points = model.forecast("x", horizon=3)
    # The lower quantile (0.75 > 0) is clamped to 0 so the interval holds the point forecast;
    # beyond one season the width grows by sqrt(2).
    assert [(p.mean, p.lower, p.upper) for p in points[:2]] == [(1.0, 1.0, 3.0), (4.0, 4.0, 6.0)]
    assert points[2].upper == pytest.approx(1.0 + 2.0 * math.sqrt(2))
    assert model.store_ids_.tolist() == ["all"]


def test_noisy_intervals_are_ordered_non_negative_and_widen(make_sales_frame):
    model = SeasonalNaiveForecaster().fit(make_sales_frame(84, noise=2.0))
    frame = model.predict(21)
    assert (frame["lower"] >= 0).all()
    assert (frame["lower"] <= frame["mean"]).all() and (frame["mean"] <= frame["upper"]).all()
    points = model.forecast("a", store_id="s1", horizon=21)
    widths = [p.upper - p.lower for p in points]
    assert widths[7] > widths[0] and widths[14] > widths[7]


def test_missing_days_count_as_zero_and_duplicates_are_summed():
    sales = pd.DataFrame(
        {
            "item_id": ["x", "x", "x", "x"],
            "store_id": "s",
            "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-05", "2024-01-09"]),
            "quantity": [1.0, 2.0, 3.0, 4.0],
        }
    )
    model = SeasonalNaiveForecaster(season_length=3).fit(sales)
    # Last season: Jan 7, 8, 9 -> 0, 0, 4.  (Jan 5 = 2 + 3 lies further back.)
    assert [p.mean for p in model.forecast("x", horizon=3)] == [0.0, 0.0, 4.0]


def test_young_series_pad_with_zero_and_borrow_interval_width(make_sales_frame):
    sales = make_sales_frame(70, noise=2.0)
    young = pd.DataFrame(
        {
            "item_id": "new",
            "store_id": "s1",
            "date": pd.to_datetime(["2024-03-09", "2024-03-10"]),
            "quantity": [5.0, 6.0],
        }
    )
    model = SeasonalNaiveForecaster().fit(pd.concat([sales, young], ignore_index=True))
    points = model.forecast("new", horizon=7)
    assert [p.mean for p in points] == [0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 6.0]
    assert points[-1].upper > points[-1].mean  # borrowed the other series' median error quantiles


@pytest.mark.parametrize("horizon", [0, -1, 57, 1.5, "7", True, None])
def test_bad_horizon_is_rejected(fitted, horizon):
    with pytest.raises(InvalidInputError) as err:
        fitted.forecast("a", store_id="s1", horizon=horizon)
    assert err.value.field == "horizon"
    with pytest.raises(InvalidInputError) as err:
        fitted.predict(horizon)
    assert err.value.field == "horizon"


def test_unknown_ids(fitted):
    with pytest.raises(UnknownIdError) as err:
        fitted.forecast("zzz")
    assert err.value.field == "item_id"
    with pytest.raises(UnknownIdError) as err:
        fitted.forecast("b", store_id="s2")
    assert err.value.field == "store_id"
    with pytest.raises(InvalidInputError) as err:
        fitted.forecast(42)
    assert err.value.field == "item_id"
    assert fitted.has_series("a") and fitted.has_series("a", "s2") and not fitted.has_series("b", "s2")


def test_unfitted_model_raises():
    model = SeasonalNaiveForecaster()
    for call in (lambda: model.forecast("a"), lambda: model.predict(3), lambda: model.save("/tmp/never")):
        with pytest.raises(NotFittedError, match="SeasonalNaiveForecaster"):
            call()


@pytest.mark.parametrize("column", ["item_id", "date", "quantity"])
def test_fit_names_a_missing_column(sales, column):
    with pytest.raises(DataValidationError) as err:
        SeasonalNaiveForecaster().fit(sales.drop(columns=[column]))
    assert err.value.column == column


@pytest.mark.parametrize(("column", "value"), [("date", "2024-01-01"), ("quantity", "many")])
def test_fit_names_a_badly_typed_column(sales, column, value):
    sales[column] = value
    with pytest.raises(DataValidationError) as err:
        SeasonalNaiveForecaster().fit(sales)
    assert err.value.column == column


@pytest.mark.parametrize(("param", "value"), [("season_length", 0), ("level", 1.0), ("max_horizon", 0)])
def test_fit_rejects_bad_hyper_parameters(sales, param, value):
    with pytest.raises(InvalidInputError) as err:
        SeasonalNaiveForecaster(**{param: value}).fit(sales)
    assert err.value.field == param


def test_save_load_gives_identical_outputs(make_sales_frame, tmp_path):
    model = SeasonalNaiveForecaster(level=0.8).fit(make_sales_frame(60, noise=1.5))
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert (meta["family"], meta["model_type"], meta["format_version"]) == (
        "forecasting",
        "seasonal_naive",
        1,
    )
    loaded = SeasonalNaiveForecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.predict(30), model.predict(30))
    assert loaded.forecast("a", horizon=5) == model.forecast("a", horizon=5)
    assert loaded.get_params() == model.get_params() and loaded.max_horizon == 56
    with np.load(tmp_path / "m" / "series.npz", allow_pickle=False) as payload:
        assert payload["item_ids"].dtype.kind == "U"


def test_load_refuses_other_artifacts(fitted, tmp_path):
    from fraud.baseline import RawFeatureFraudModel

    tx = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=40, freq="h"),
            "amount": np.arange(40.0),
            "is_fraud": [0, 1] * 20,
        }
    )
    RawFeatureFraudModel(n_estimators=2, min_child_samples=2).fit(tx).save(tmp_path / "fraud")
    with pytest.raises(ArtifactError, match="family"):
        SeasonalNaiveForecaster.load(tmp_path / "fraud")
    fitted.save(tmp_path / "fc")
    (tmp_path / "fc" / "series.npz").unlink()
    with pytest.raises(ArtifactError, match="series.npz"):
        SeasonalNaiveForecaster.load(tmp_path / "fc")
