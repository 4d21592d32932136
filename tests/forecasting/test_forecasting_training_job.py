"""training.jobs.forecasting: rolling-origin backtest with baselines, then a refit on all sales."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.global_model import GlobalForecaster
from models.errors import DataValidationError
from training.jobs import forecasting as job
from training.store import StoreData


@pytest.fixture(scope="module")
def result(make_sales_frame):
    """One job run (they take seconds): 200 noisy days, a day without any sale, a new series."""
    sales = make_sales_frame(200, noise=1.5)
    last = sales["date"].max()
    sales = sales[sales["date"] != last - pd.Timedelta(days=30)]  # nothing sold that day
    new = pd.DataFrame(
        {"item_id": "new", "store_id": "s1", "date": [last - pd.Timedelta(days=3)], "quantity": 4.0}
    )
    return job.train(StoreData(sales=pd.concat([sales, new], ignore_index=True)), seed=0)


def test_job_returns_the_global_model_fit_on_all_data(result):
    model = result.model
    assert isinstance(model, GlobalForecaster) and model.model_type == "lgbm_global"
    assert model.data_window_["end"] == "2024-07-18"  # day 200
    assert (result.primary_metric, result.greater_is_better) == ("wape", False)
    assert model.predict(56).groupby(["item_id", "store_id"]).size().eq(56).all()


def test_job_reports_model_and_baseline_rows(result):
    m = result.metrics
    for prefix in ("", "baseline_snaive_", "baseline_ets_"):
        assert {f"{prefix}{k}" for k in ("wape", "mae", "rmse", "mase", "coverage_80")} <= set(m)
    assert {"series_mase_median", "series_mase_p90", "series_share_beating_baseline_snaive"} <= set(m)
    # Noisy repeated weeks: seasonal naive copies last week's noise, the global model averages it out.
    assert m["wape"] < m["baseline_snaive_wape"]
    assert 0.6 <= m["coverage_80"] <= 1.0


def test_job_logs_the_backtest_design(result):
    p = result.params
    assert (p["freq"], p["horizon"], p["series"], p["max_horizon"]) == ("D", 28, 4, 56)
    assert p["backtest_cutoffs"] == "2024-04-25,2024-05-23,2024-06-20"
    assert (p["train_start"], p["train_end"]) == ("2024-01-01", "2024-07-18")


def test_job_handles_new_series_and_days_without_sales(result):
    # "new" appeared after every backtest cutoff: not scored there, but forecast by the final model.
    assert result.model.has_series("new") and result.params["series"] == 4
    assert len(result.model.forecast("new", horizon=7)) == 7


def test_job_needs_enough_sales(make_sales_frame):
    with pytest.raises(DataValidationError, match="periods of sales"):
        job.train(StoreData(sales=make_sales_frame(60)), seed=0)
    with pytest.raises(DataValidationError, match="sales"):
        job.train(StoreData(), seed=0)


@pytest.mark.slow
def test_job_on_the_demo_store_beats_seasonal_naive(tmp_path):
    from training.data import load_store
    from training.demo import generate_store

    generate_store(tmp_path / "store", seed=0, scale="small")
    store = load_store(tmp_path / "store", only=["sales"])
    result = job.train(store, seed=0)
    m = result.metrics
    assert m["wape"] < m["baseline_snaive_wape"] and m["mase"] < m["baseline_snaive_mase"]
    assert 0.7 <= m["coverage_80"] <= 0.95
    assert result.model.predict(7).groupby(["item_id", "store_id"]).size().eq(7).all()


def test_job_on_weekly_sales_blends_the_seasonal_regression():
    """Weekly sales get the validated blend (model + seasonal regression), and it beats the naive."""
    import numpy as np

    rng = np.random.default_rng(1)
    weeks = np.arange(150)
    dates = pd.date_range("2021-01-01", periods=len(weeks), freq="W-FRI")
    shape = 1 + 0.4 * np.sin(2 * np.pi * weeks / 52)
    frames = [
        pd.DataFrame(
            {
                "item_id": item,
                "store_id": store,
                "date": dates,
                "quantity": np.maximum(size * shape + rng.normal(0, 0.15 * size, len(weeks)), 0).round(),
            }
        )
        for item, store, size in [("a", "s1", 100), ("a", "s2", 60), ("b", "s1", 300), ("b", "s2", 40)]
    ]
    result = job.train(StoreData(sales=pd.concat(frames, ignore_index=True)), seed=0)
    params = result.model.get_params()
    assert (params["seasonal_blend"], params["seasonal_baseline"]) == (0.5, "regression")
    assert result.params["freq"] == "W-FRI" and result.model.max_horizon == 39
    m = result.metrics
    assert m["wape"] < m["baseline_snaive_wape"]
