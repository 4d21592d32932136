"""Train and evaluate the seasonal naive forecaster on a store's daily sales.

The holdout is the last ``HOLDOUT_DAYS`` days; the model is fit on everything before and forecasts
the holdout in one shot (h = 28), as a weekly or monthly replenishment plan would. Every metric is
computed over (series, day) cells of the series known at the cutoff: a day without a sales row
counts as zero sales, and series first seen in the holdout (new items) are left out and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.metrics import coverage, mae, mase, seasonal_naive_scale, wape
from forecasting.naive import DailySeries, SeasonalNaiveForecaster, daily_series
from models.errors import DataValidationError
from training.jobs.base import TrainResult
from training.store import StoreData

HOLDOUT_DAYS = 28


def train(store: StoreData, *, seed: int) -> TrainResult:
    """Fit before the last 28 days, evaluate on them, refit on all sales.

    Args:
        store: the store's data; needs ``sales``.
        seed: unused (the model is deterministic); kept for the common job signature.

    Returns:
        The model refit on all sales, holdout metrics (primary: ``wape``, lower is better) and
        the split as run parameters.

    Raises:
        DataValidationError: no sales, or too little history before the holdout.
    """
    del seed  # seasonal naive has no randomness
    if store.sales is None:
        raise DataValidationError("The forecasting job needs a sales file", file="sales")
    sales = _with_store(store.sales)
    days = pd.to_datetime(sales["date"]).dt.normalize()
    cutoff = days.max() - pd.Timedelta(days=HOLDOUT_DAYS - 1)
    train_part, holdout = sales[days < cutoff], sales[days >= cutoff]
    model = SeasonalNaiveForecaster()
    if train_part.empty or days[days < cutoff].nunique() <= model.season_length:
        raise DataValidationError(
            f"The forecasting job needs more than {model.season_length} days of sales before the "
            f"{HOLDOUT_DAYS}-day holdout; got {days[days < cutoff].nunique()} days",
            file="sales",
            column="date",
        )
    model.fit(train_part)
    metrics, counts = evaluate(model, train_part, holdout, cutoff)
    final = SeasonalNaiveForecaster().fit(sales)
    params = {
        "train_start": days.min().date().isoformat(),
        "train_end": (cutoff - pd.Timedelta(days=1)).date().isoformat(),
        "holdout_start": cutoff.date().isoformat(),
        "holdout_end": days.max().date().isoformat(),
        "horizon": HOLDOUT_DAYS,
        **counts,
    }
    return TrainResult(final, metrics, primary_metric="wape", greater_is_better=False, params=params)


def evaluate(
    model: SeasonalNaiveForecaster, train_part: pd.DataFrame, holdout: pd.DataFrame, cutoff: pd.Timestamp
) -> tuple[dict[str, float], dict[str, int]]:
    """Holdout metrics of ``model`` (fit on ``train_part``) and of a last-28-day-mean forecast."""
    history = daily_series(train_part)
    n = len(history.item_ids)
    # The training data may end before the cutoff (a day without any sale): forecast through it.
    lead = int((cutoff - pd.Timestamp(history.end)).days) - 1
    forecast = model.predict(HOLDOUT_DAYS + lead)
    # predict() orders series exactly like daily_series() (both sort the keys of the same frame).
    shape = (n, HOLDOUT_DAYS + lead)
    mean, lower, upper = (forecast[c].to_numpy().reshape(shape)[:, lead:] for c in ("mean", "lower", "upper"))
    actual, new_series = _actual_matrix(history, holdout, cutoff)
    recent = history.values[:, -HOLDOUT_DAYS:]
    seen = (~np.isnan(recent)).sum(axis=1)
    # Baseline: each series' mean over the last 28 training days (days before it existed ignored).
    level = np.where(seen > 0, np.nansum(recent, axis=1) / np.maximum(seen, 1), 0.0)[:, None]
    scales = seasonal_naive_scale(history.values, model.season_length)
    per_series = np.array([mase(actual[r], mean[r], scale=float(scales[r])) for r in range(n)])
    metrics = {
        "wape": wape(actual, mean),
        "mae": mae(actual, mean),
        # Mean over series with a defined scale (constant series have none).
        "mase": float(np.nanmean(per_series)) if np.isfinite(per_series).any() else float("nan"),
        f"coverage_{round(model.level * 100)}": coverage(actual, lower, upper),
        "baseline_mean_wape": wape(actual, np.broadcast_to(level, actual.shape)),
        "baseline_mean_mae": mae(actual, np.broadcast_to(level, actual.shape)),
    }
    counts = {"series": n, "holdout_cells": int(actual.size), "holdout_new_series": new_series}
    return metrics, counts


def _actual_matrix(
    history: DailySeries, holdout: pd.DataFrame, cutoff: pd.Timestamp
) -> tuple[np.ndarray, int]:
    """Holdout quantities as a (series, day) matrix aligned with ``history``; also counts new series."""
    known = pd.MultiIndex.from_arrays([history.item_ids, history.store_ids])
    keys = pd.MultiIndex.from_arrays([holdout["item_id"].astype(str), holdout["store_id"].astype(str)])
    rows = known.get_indexer(keys)
    cols = (pd.to_datetime(holdout["date"]).dt.normalize() - cutoff).dt.days.to_numpy()
    ok = rows >= 0
    actual = np.zeros((len(known), HOLDOUT_DAYS))
    np.add.at(actual, (rows[ok], cols[ok]), np.nan_to_num(holdout["quantity"].to_numpy(float)[ok]))
    return actual, int(keys[~ok].nunique())


def _with_store(sales: pd.DataFrame) -> pd.DataFrame:
    """Sales with a ``store_id`` column ("all" when the file has none)."""
    return sales if "store_id" in sales.columns else sales.assign(store_id="all")
