"""training.jobs.forecasting: per-store blends chosen on validation origins, scored on the holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.global_model import GlobalForecaster
from models.errors import DataValidationError
from models.evaluation import Evaluation
from training.jobs import forecasting as job
from training.store import StoreData


@pytest.fixture(scope="module")
def sales_with_gaps(make_sales_frame):
    """200 noisy days, a day without any sale, and a series born 3 days before the end."""
    sales = make_sales_frame(200, noise=1.5)
    last = sales["date"].max()
    sales = sales[sales["date"] != last - pd.Timedelta(days=30)]  # nothing sold that day
    new = pd.DataFrame(
        {"item_id": "new", "store_id": "s1", "date": [last - pd.Timedelta(days=3)], "quantity": 4.0}
    )
    return pd.concat([sales, new], ignore_index=True)


@pytest.fixture(scope="module")
def result(sales_with_gaps):
    """One job run (they take seconds)."""
    return job.train(StoreData(sales=sales_with_gaps), seed=0)


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
    # Noisy repeated weeks: seasonal naive copies last week's noise; the chosen blend averages it out.
    assert m["wape"] < m["baseline_snaive_wape"]
    assert 0.6 <= m["coverage_80"] <= 1.0


def test_job_evaluates_every_series_with_model_and_baseline_rows(result):
    ev = result.evaluation
    assert isinstance(ev, Evaluation) and (ev.kind, ev.greater_is_better, ev.case_name) == (
        "ratio",
        False,
        "series",
    )
    # "new" was born after every holdout cutoff: it has no holdout cell, so it is no case.
    assert sorted(ev.case_ids.tolist()) == ["a|s1", "a|s2", "b|s1"]
    assert set(ev.rows) == {"model", "snaive", "ets"}  # AutoETS ran on every series (3 <= 300)
    assert result.baselines == ("snaive",)
    assert ev.metric("model") == pytest.approx(result.metrics["wape"], rel=1e-12)
    assert ev.metric("snaive") == pytest.approx(result.metrics["baseline_snaive_wape"], rel=1e-12)


def test_job_logs_the_origins(result):
    p = result.params
    assert (p["freq"], p["horizon"], p["series"], p["max_horizon"]) == ("D", 28, 4, 56)
    # Two holdout origins, 28 days apart, the last 28 days before the end; validation before them.
    assert p["backtest_cutoffs"] == "2024-05-23,2024-06-20"
    assert p["validation_cutoffs"] == "2024-02-29,2024-03-28,2024-04-25"
    assert (p["holdout_origins"], p["validation_origins"], p["series_evaluated"]) == (2, 3, 3)
    assert (p["train_start"], p["train_end"]) == ("2024-01-01", "2024-07-18")


def test_job_serves_the_blends_it_chose(result):
    weights = result.model.blend_weights
    assert {"s1", "s2", "*"} <= set(weights)
    assert all(sum(w.values()) == pytest.approx(1.0) for w in weights.values())
    assert result.params["blends"] and result.params["blend_other_stores"]


def test_job_handles_new_series_and_days_without_sales(result):
    # "new" appeared after every backtest cutoff: not scored there, but forecast by the final model.
    assert result.model.has_series("new") and result.params["series"] == 4
    assert len(result.model.forecast("new", horizon=7)) == 7


def test_the_holdout_does_not_depend_on_the_seed(result, sales_with_gaps):
    other = job.train(StoreData(sales=sales_with_gaps), seed=1)
    assert other.evaluation.holdout_key == result.evaluation.holdout_key
    assert other.params["backtest_cutoffs"] == result.params["backtest_cutoffs"]


def test_job_needs_enough_sales(make_sales_frame):
    with pytest.raises(DataValidationError, match="periods of sales"):
        job.train(StoreData(sales=make_sales_frame(60)), seed=0)
    with pytest.raises(DataValidationError, match="sales"):
        job.train(StoreData(), seed=0)


def test_a_short_history_has_one_holdout_origin_and_the_default_blend(make_sales_frame):
    result = job.train(StoreData(sales=make_sales_frame(80, noise=1.0)), seed=0)
    p = result.params
    assert (p["holdout_origins"], p["validation_origins"], p["validation_cutoffs"]) == (1, 0, "")
    assert result.model.blend_weights == {"*": {"lgbm": 1.0}}  # daily sales: the model alone
    assert "validation_score" not in result.metrics and result.tuning is None


def test_a_store_of_pure_seasonal_repeats_takes_the_seasonal_naive(make_sales_frame):
    """Store s1 repeats its weeks exactly; store s9's series are noisy and trending."""
    pure = make_sales_frame(140)
    pure = pure[pure["store_id"] == "s1"]
    rng = np.random.default_rng(3)
    dates = pd.date_range("2024-01-01", periods=140, freq="D")
    noisy = [
        pd.DataFrame(
            {
                "item_id": item,
                "store_id": "s9",
                "date": dates,
                "quantity": np.maximum(20 + 0.1 * np.arange(140) + rng.normal(0, 4, 140), 0).round(),
            }
        )
        for item in ("a", "b", "c")
    ]
    result = job.train(StoreData(sales=pd.concat([pure, *noisy], ignore_index=True)), seed=0)
    weights = result.model.blend_weights
    assert weights["s1"].get("naive", 0.0) >= 0.5, weights
    # Served: the pure store's forecast repeats its weeks.
    points = result.model.forecast("a", store_id="s1", horizon=14)
    week = [1, 2, 3, 4, 5, 6, 7]  # PATTERNS[("a", "s1")], Monday first
    assert [p.mean for p in points] == pytest.approx([week[p.date.weekday()] for p in points], abs=0.3)


def test_the_settings_search_starts_from_the_defaults_and_keeps_the_best(sales_with_gaps):
    result = job.train(StoreData(sales=sales_with_gaps), seed=0, budget_s=4.0)
    report = result.tuning
    assert report is not None and report.trials[0]["params"]["n_estimators"] == 300
    assert len(report.trials) >= 2 and report.best_value <= report.default_value
    assert result.metrics["validation_score"] == pytest.approx(report.best_value)
    assert result.model.n_estimators == report.best_params["n_estimators"]


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
    assert result.evaluation.n_cases == 40 and set(result.evaluation.rows) == {"model", "snaive", "ets"}
    assert result.model.predict(7).groupby(["item_id", "store_id"]).size().eq(7).all()


def test_job_on_weekly_sales_chooses_blends_on_weekly_origins():
    """Weekly sales: 13-week origins, a 39-week served horizon, and the chosen blend beats the naive."""
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
    assert result.params["freq"] == "W-FRI" and result.model.max_horizon == 39
    assert (
        result.params["horizon"],
        result.params["holdout_origins"],
        result.params["validation_origins"],
    ) == (
        13,
        2,
        3,
    )
    assert {"s1", "s2", "*"} <= set(result.model.blend_weights)
    m = result.metrics
    assert m["wape"] < m["baseline_snaive_wape"]
