"""Rolling-origin backtests: no future leakage, metrics by hand, cutoffs, baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import cutoffs_for, run_backtest, score
from forecasting.global_model import GlobalForecaster
from forecasting.panel import build_panel

FAST = {"max_horizon": 7, "calibration_windows": 2, "n_estimators": 40, "num_leaves": 15}


def _with_covariates(sales: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    promo = (rng.random(len(sales)) < 0.1).astype("int8")
    return sales.assign(
        promotion=promo,
        price=np.where(promo, 4.0, 5.0),
        holiday=(sales["date"].dt.day == 1).astype("int8"),
    )


def _fit(history: pd.DataFrame, cutoff: pd.Timestamp) -> GlobalForecaster:
    assert history["date"].max() <= cutoff  # the backtest hands over nothing after the cutoff
    return GlobalForecaster(**FAST).fit(history)


def test_no_future_leakage_perturbing_data_after_a_cutoff_leaves_its_forecasts_unchanged(make_sales_frame):
    sales = _with_covariates(make_sales_frame(120, noise=1.5))
    panel = build_panel(sales)
    cutoffs = cutoffs_for(panel, horizon=7, windows=2)
    clean = run_backtest(sales, _fit, horizon=7, cutoffs=cutoffs)

    after = sales["date"] > cutoffs[0]  # everything the first cutoff must not see
    rng = np.random.default_rng(7)
    noisy = sales.copy()
    noisy.loc[after, "quantity"] = rng.integers(0, 100, after.sum()).astype(float)
    noisy.loc[after, "price"] = 99.0
    noisy.loc[after, "promotion"] = 1
    dirty = run_backtest(noisy, _fit, horizon=7, cutoffs=cutoffs)

    key = ["model", "cutoff", "item_id", "store_id", "date"]
    a = clean.cells.sort_values(key).reset_index(drop=True)
    b = dirty.cells.sort_values(key).reset_index(drop=True)
    first = a["cutoff"] == cutoffs[0]
    # Every model's forecast from the first cutoff (and the series' scale) is identical ...
    pd.testing.assert_frame_equal(
        a.loc[first, [*key, "mean", "lower", "upper", "scale"]],
        b.loc[first, [*key, "mean", "lower", "upper", "scale"]],
    )
    # ... while what was scored, and the later cutoff's forecasts, did change.
    assert not np.allclose(a.loc[first, "actual"], b.loc[first, "actual"])
    assert not np.allclose(a.loc[~first, "mean"], b.loc[~first, "mean"])


def test_backtest_reports_every_model_and_beats_seasonal_naive_on_noisy_weekly_data(make_sales_frame):
    sales = make_sales_frame(150, noise=2.0)
    cutoffs = cutoffs_for(build_panel(sales), horizon=7, windows=3)
    result = run_backtest(sales, _fit, horizon=7, cutoffs=cutoffs)
    m = result.metrics
    for prefix in ("", "baseline_snaive_", "baseline_ets_"):
        assert {f"{prefix}{k}" for k in ("mae", "rmse", "wape", "mase", "coverage_80")} <= set(m)
    assert "wmae" not in m  # no holiday flags, no WMAE
    assert m["mae"] < m["baseline_snaive_mae"]  # seasonal naive carries last week's noise
    assert 0.6 <= m["coverage_80"] <= 1.0
    assert len(result.cells) == 3 * 3 * 3 * 7  # models x cutoffs x series x steps
    assert set(result.per_series["model"]) == {"model", "baseline_snaive", "baseline_ets"}
    assert len(result.per_series) == 9


def test_cutoffs_are_one_horizon_apart_and_end_one_horizon_before_the_data(make_sales_frame):
    panel = build_panel(make_sales_frame(50))
    cutoffs = cutoffs_for(panel, horizon=7, windows=3)
    assert [c.date().isoformat() for c in cutoffs] == ["2024-01-29", "2024-02-05", "2024-02-12"]
    assert len(cutoffs_for(panel, horizon=20, windows=5)) == 2  # only those with history left


def test_score_by_hand_with_holiday_weights():
    cells = pd.DataFrame(
        {
            "model": "model",
            "item_id": ["a", "a", "b", "b"],
            "store_id": "s",
            "actual": [10.0, 0.0, 4.0, 6.0],
            "mean": [8.0, 1.0, 4.0, 9.0],  # errors 2, 1, 0, 3
            "lower": [7.0, 0.0, 3.0, 7.0],
            "upper": [9.0, 2.0, 5.0, 8.0],  # the first and last actuals fall outside
            "weight": [5.0, 1.0, 1.0, 1.0],
            "scale": [2.0, 2.0, 1.0, 1.0],
        }
    )
    metrics, per_series = score(cells, 0.8)
    assert metrics["mae"] == pytest.approx(6 / 4)
    assert metrics["rmse"] == pytest.approx(np.sqrt(14 / 4))
    assert metrics["wape"] == pytest.approx(6 / 20)
    assert metrics["wmae"] == pytest.approx((5 * 2 + 1 + 0 + 3) / 8)
    assert metrics["coverage_80"] == pytest.approx(0.5)
    assert metrics["mase"] == pytest.approx(((1.5 / 2) + (1.5 / 1)) / 2)
    assert per_series.set_index("item_id").loc["b", "mae"] == pytest.approx(1.5)


def test_autoets_on_a_sample_is_compared_with_the_model_on_the_same_sample(make_sales_frame):
    sales = make_sales_frame(150, noise=2.0)
    cutoffs = cutoffs_for(build_panel(sales), horizon=7, windows=2)
    result = run_backtest(sales, _fit, horizon=7, cutoffs=cutoffs, max_baseline_series=2, seed=1)
    counts = result.cells.groupby("model").size()
    # The model and the (cheap) seasonal naive are scored on every series ...
    assert counts["model"] == counts["baseline_snaive"] == 2 * 3 * 7
    for name in ("model_on_sample", "baseline_ets"):
        assert counts[name] == 2 * 2 * 7  # ... AutoETS and the model's copy on 2 sampled series
    sampled = result.cells[result.cells["model"] == "model_on_sample"]
    ets = result.cells[result.cells["model"] == "baseline_ets"]
    assert set(zip(sampled["item_id"], sampled["store_id"], strict=True)) == set(
        zip(ets["item_id"], ets["store_id"], strict=True)
    )
    assert not result.cells["mean"].isna().any()
    assert {"model_on_sample_wape", "baseline_ets_wape"} <= set(result.metrics)


def test_series_sums_give_one_case_per_series_and_the_pooled_wape(make_sales_frame):
    from forecasting.backtest import series_sums

    sales = make_sales_frame(150, noise=2.0)
    cutoffs = cutoffs_for(build_panel(sales), horizon=7, windows=2)
    result = run_backtest(sales, _fit, horizon=7, cutoffs=cutoffs, max_baseline_series=2, seed=1)
    case_ids, rows = series_sums(
        result.cells, {"model": "model", "snaive": "baseline_snaive", "ets": "baseline_ets"}
    )
    assert case_ids.tolist() == ["a|s1", "a|s2", "b|s1"]
    assert set(rows) == {"model", "snaive"}  # AutoETS ran on a sample only: not the same cases
    for row, prefix in (("model", ""), ("snaive", "baseline_snaive_")):
        assert rows[row][:, 0].sum() / rows[row][:, 1].sum() == pytest.approx(result.metrics[f"{prefix}wape"])
