"""training.jobs.forecasting on a small synthetic store (and the demo store when it exists)."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.naive import SeasonalNaiveForecaster
from models.errors import DataValidationError
from training.jobs import forecasting as job
from training.store import StoreData


@pytest.fixture(scope="module")
def result(make_sales_frame):
    return job.train(StoreData(sales=make_sales_frame(120, noise=1.0)), seed=0)


def test_job_returns_a_model_fit_on_all_data(result):
    assert isinstance(result.model, SeasonalNaiveForecaster)
    assert result.model.data_window_["end"] == "2024-04-29"  # day 120
    assert (result.primary_metric, result.greater_is_better) == ("wape", False)


def test_job_metrics_show_seasonal_naive_beats_the_mean(result):
    m = result.metrics
    assert {"wape", "mae", "mase", "coverage_90", "baseline_mean_wape", "baseline_mean_mae"} <= set(m)
    assert m["wape"] < m["baseline_mean_wape"]
    assert 0.7 <= m["coverage_90"] <= 1.0
    assert 0.5 < m["mase"] < 2.0


def test_job_logs_the_split(result):
    p = result.params
    assert (p["holdout_start"], p["holdout_end"], p["horizon"]) == ("2024-04-02", "2024-04-29", 28)
    assert p["train_end"] == "2024-04-01"
    assert p["series"] == 3 and p["holdout_cells"] == 3 * 28 and p["holdout_new_series"] == 0


def test_job_handles_new_series_and_days_without_sales(make_sales_frame):
    sales = make_sales_frame(100, noise=1.0)
    cutoff = sales["date"].max() - pd.Timedelta(days=27)
    sales = sales[sales["date"] != cutoff - pd.Timedelta(days=1)]  # nothing sold the day before the cutoff
    new = pd.DataFrame(
        {"item_id": "new", "store_id": "s1", "date": [cutoff + pd.Timedelta(days=3)], "quantity": 4.0}
    )
    result = job.train(StoreData(sales=pd.concat([sales, new], ignore_index=True)), seed=0)
    assert result.params["holdout_new_series"] == 1 and result.params["holdout_cells"] == 3 * 28
    assert result.metrics["wape"] < result.metrics["baseline_mean_wape"]


def test_job_needs_enough_sales(make_sales_frame):
    with pytest.raises(DataValidationError, match="days of sales"):
        job.train(StoreData(sales=make_sales_frame(30)), seed=0)
    with pytest.raises(DataValidationError, match="sales"):
        job.train(StoreData(), seed=0)


@pytest.mark.slow
def test_job_on_the_demo_store(tmp_path):
    try:
        from training.data import load_store
        from training.demo import generate_store
    except ImportError as exc:  # written in parallel by another engineer
        pytest.skip(f"training.demo.generate_store / training.data.load_store not importable yet: {exc}")
    generate_store(tmp_path / "store", seed=0, scale="small")
    store = load_store(tmp_path / "store")
    if store.sales is None:
        pytest.skip("the demo store has no sales")
    result = job.train(store, seed=0)
    assert result.metrics["wape"] > 0
    assert result.model.predict(7).groupby(["item_id", "store_id"]).size().eq(7).all()
