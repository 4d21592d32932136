"""Recent actual sales returned beside a forecast (the planner's chart): both forecasters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.global_model import GlobalForecaster
from forecasting.naive import SeasonalNaiveForecaster
from models.errors import UnknownIdError


def _sales() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=90, freq="D")
    frames = []
    for n, (item, store) in enumerate([("a", "s1"), ("a", "s2"), ("b", "s1")]):
        quantity = 5.0 + n + np.arange(len(dates)) % 7
        frames.append(pd.DataFrame({"item_id": item, "store_id": store, "date": dates, "quantity": quantity}))
    late = frames[2].iloc[-10:]  # b in s1 starts late: earlier periods are unknown, not zero
    return pd.concat([frames[0], frames[1], late], ignore_index=True)


@pytest.fixture(scope="module")
def global_model() -> GlobalForecaster:
    return GlobalForecaster(max_horizon=14, n_estimators=20, min_child_samples=5).fit(_sales())


def _actual(sales: pd.DataFrame, item: str, store: str | None) -> pd.Series:
    rows = sales[(sales["item_id"] == item) & ((sales["store_id"] == store) if store else True)]
    return rows.groupby("date")["quantity"].sum()


@pytest.mark.parametrize("store", ["s1", None])
def test_global_model_returns_the_last_periods_before_the_forecast(global_model, store) -> None:
    sales = _sales()
    recent = global_model.recent_sales("a", store_id=store)
    assert len(recent) == 14
    forecast_start = global_model.forecast("a", store_id=store, horizon=1)[0].date
    assert recent[-1].date == forecast_start - pd.Timedelta(days=1)
    actual = _actual(sales, "a", store)
    assert [p.quantity for p in recent] == [actual[pd.Timestamp(p.date)] for p in recent]


def test_periods_before_a_series_started_are_none(global_model) -> None:
    recent = global_model.recent_sales("b", store_id="s1")
    assert [p.quantity is None for p in recent] == [True] * 4 + [False] * 10


def test_recent_sales_survive_save_and_load_and_old_artifacts_give_none(global_model, tmp_path) -> None:
    path = global_model.save(tmp_path / "m")
    assert GlobalForecaster.load(path).recent_sales("a") == global_model.recent_sales("a")
    arrays = dict(np.load(path / "forecasts.npz"))
    np.savez(path / "forecasts.npz", **{k: v for k, v in arrays.items() if not k.startswith("recent")})
    assert GlobalForecaster.load(path).recent_sales("a") == []  # saved before recent sales were kept


def test_naive_model_returns_its_last_season() -> None:
    sales = _sales()
    model = SeasonalNaiveForecaster(season_length=7).fit(sales)
    recent = model.recent_sales("a", store_id="s2")
    actual = _actual(sales, "a", "s2")
    assert [(pd.Timestamp(p.date), p.quantity) for p in recent] == list(actual.iloc[-7:].items())
    with pytest.raises(UnknownIdError):
        model.recent_sales("zzz")
