"""Direct multi-horizon strategy of the global model: one LightGBM over (origin, step) pairs.

The recursive strategy (mlforecast) feeds each prediction back into the lags, so over a long
horizon (39 weeks on Walmart) it feeds the model its own errors. The direct strategy forecasts
every step ``h`` from the origin ``t`` itself: one model, with ``h`` as a feature, is trained on
many (series, origin, step) rows sampled from the history.

**Target relative to the level.** Each row's target is ``y[t+h] / d_t`` where ``d_t`` is the
series' mean absolute sales over the last ``LEVEL_WINDOW`` periods before the origin (its
level), so series of very different volume share one model; rows are weighted by ``d_t``, which
makes an l1 loss exactly the absolute error in units (WAPE/WMAE's loss).

**Features** (all quantities divided by ``d_t``; everything is known at the origin ``t``):

* step ``h``; ``log d_t``; the last value and the mean of the last 4 periods;
* the seasonal reference: ``j`` = the most recent period at or before ``t`` in the same season
  phase as ``t+h`` (``t+h - s*ceil(h/s)``); ``y[j-1]``, ``y[j]``, ``y[j+1]`` (the neighbours let a
  moving holiday line up: Thanksgiving or Easter one week off last year), the mean of the same
  phase over the last 4 seasons, and ``y[j]`` relative to the level a season before the origin
  (the seasonal naive corrected by the year-on-year growth) plus that growth itself;
* the calendar of ``t+h`` (``forecasting.features``' fields) and the covariates of ``t+h``
  (holiday, promotion, price relative to the origin's price) and the holiday flag of ``j``;
* the series' ``item_id`` and ``store_id`` (categorical).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.panel import SEASON, Panel, freq_family

LEVEL_WINDOW = {"D": 28, "W": 13, "M": 3}
OBJECTIVE = {"l1": "regression_l1", "l2": "regression", "tweedie": "tweedie", "poisson": "poisson"}


@dataclass
class DirectModel:
    """A trained direct model: the booster and what ``predict`` needs to rebuild its features."""

    booster: Any
    family: str
    items: dict[str, int]
    stores: dict[str, int]
    covariates: list[str]
    feature_names: list[str]
    residual: bool  # target (y - base) / d (l1, l2); y / d for tweedie/poisson (non-negative)


def _level(values: np.ndarray, t: int, window: int) -> np.ndarray:
    """Mean absolute value over the ``window`` periods ending at ``t`` (fallback: all history, then 1)."""
    with np.errstate(invalid="ignore"), quiet_empty_means():
        recent = np.nanmean(np.abs(values[:, max(0, t - window + 1) : t + 1]), axis=1)
        overall = np.nanmean(np.abs(values[:, : t + 1]), axis=1)
    level = np.asarray(np.where(np.isfinite(recent) & (recent > 0), recent, overall), dtype=float)
    return np.where(np.isfinite(level) & (level > 0), level, 1.0)


@contextlib.contextmanager
def quiet_empty_means() -> Iterator[None]:
    """Silence numpy's 'Mean of empty slice' (young series have all-NaN windows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def column_at(values: np.ndarray, k: int, t: int) -> np.ndarray:
    """Column ``k`` of ``values`` if it is known at origin ``t`` (0 <= k <= t), else NaN."""
    if 0 <= k <= t:
        return values[:, k]
    return np.full(len(values), np.nan)


def _calendar(family: str, date: pd.Timestamp) -> list[float]:
    if family == "D":
        return [date.dayofweek, date.day, date.month]
    if family == "W":
        return [float(date.isocalendar()[1]), date.month]
    return [date.month]


def _calendar_names(family: str) -> list[str]:
    return {"D": ["dayofweek", "day", "month"], "W": ["week", "month"], "M": ["month"]}[family]


def _features(
    values: np.ndarray,
    t: int,
    h: int,
    family: str,
    date: pd.Timestamp,
    future_cov: dict[str, np.ndarray],
    past_cov: dict[str, np.ndarray],
    codes: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (n, k), level d_t (n,), base (n,)) of forecasting ``t+h`` from origin ``t``.

    The base is the seasonal reference ``y[j]`` (the level where it is unknown); the model
    predicts ``(y[t+h] - base) / d_t``, a correction a tree can bound where it has not seen the
    season's shape (a plain ratio cannot exceed the largest one in its training rows)."""
    s = SEASON[family]
    window = LEVEL_WINDOW[family]
    n = len(values)
    d = _level(values, t, window)
    back = s * math.ceil(h / s)
    j = t + h - back
    with quiet_empty_means():
        same_phase = np.nanmean(np.stack([column_at(values, j - s * m, t) for m in range(4)]), axis=0)
        last4 = np.nanmean(values[:, max(0, t - 3) : t + 1], axis=1)
    d_past = _level(values, t - back, window) if t - back >= 0 else np.full(n, np.nan)
    columns = [
        np.full(n, float(h)),
        np.log(d),
        values[:, t] / d,
        last4 / d,
        column_at(values, j - 1, t) / d,
        column_at(values, j, t) / d,
        column_at(values, j + 1, t) / d,
        same_phase / d,
        column_at(values, j, t) / d_past,
        d_past / d,
    ]
    columns += [np.full(n, float(v)) for v in _calendar(family, date)]
    for name in sorted(future_cov):
        value = future_cov[name]
        if name == "price":
            with np.errstate(invalid="ignore", divide="ignore"):
                value = value / past_cov["price"][:, t]
            value = np.where(np.isfinite(value), value, np.nan)
        columns.append(value)
        if name == "holiday":
            columns.append(column_at(past_cov["holiday"], j, t))
    columns += [codes[0].astype(float), codes[1].astype(float)]
    base = column_at(values, j, t)
    base = np.where(np.isnan(base), np.where(np.isnan(last4), d, last4), base)
    return np.column_stack(columns), d, base


def feature_names(family: str, covariates: list[str]) -> list[str]:
    """The column names of ``_features``, in order."""
    names = ["step", "log_level", "last", "mean_4", "season_prev", "season", "season_next"]
    names += ["season_mean_4", "season_growth_adjusted", "growth", *_calendar_names(family)]
    for name in sorted(covariates):
        names += [name, "holiday_season"] if name == "holiday" else [name]
    return [*names, "item_id", "store_id"]


def describe(forecaster: Any) -> tuple[str, list[str]]:
    """(LightGBM model text, feature names) of a trained forecaster, for provenance.

    ``forecaster`` is a ``DirectModel``, a fitted ``MLForecast``, or the ensemble's tuple of both
    (its first member, the recursive model, is described).
    """
    if isinstance(forecaster, tuple):
        forecaster = forecaster[0]
    if isinstance(forecaster, DirectModel):
        return forecaster.booster.model_to_string(), list(forecaster.feature_names)
    booster = forecaster.models_["lgbm"].booster_
    return booster.model_to_string(), list(forecaster.ts.features_order_)


def _codes(panel: Panel, items: dict[str, int], stores: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    item = np.array([items.get(i, -1) for i in panel.item_ids.tolist()], dtype=float)
    store = np.array([stores.get(s, -1) for s in panel.store_ids.tolist()], dtype=float)
    return np.where(item < 0, np.nan, item), np.where(store < 0, np.nan, store)


def train(
    panel: Panel,
    *,
    horizon: int,
    objective: str,
    lgbm_params: dict[str, Any],
    max_rows: int,
    random_state: int,
) -> DirectModel:
    """Fit the direct model on (series, origin, step) rows sampled from ``panel``."""
    import lightgbm as lgb

    family = freq_family(panel.freq)
    s, window = SEASON[family], LEVEL_WINDOW[family]
    values = panel.values
    periods = values.shape[1]
    pairs = [
        (t, h)
        for t in range(min(window, periods - 2), periods - 1)
        for h in range(1, horizon + 1)
        if t + h <= periods - 1
    ]
    seasoned = [(t, h) for t, h in pairs if t + h - s * math.ceil(h / s) >= 0]
    if len(seasoned) >= max(horizon, len(pairs) // 4):  # rows with a seasonal reference, when enough
        pairs = seasoned
    if not pairs:
        pairs = [(max(0, periods - 2), 1)]
    rng = np.random.default_rng(random_state)
    keep = max(1, max_rows // max(1, len(values)))
    if len(pairs) > keep:
        pairs = [pairs[i] for i in np.sort(rng.choice(len(pairs), keep, replace=False))]
    items = {v: n for n, v in enumerate(sorted(set(panel.item_ids.tolist())))}
    stores = {v: n for n, v in enumerate(sorted(set(panel.store_ids.tolist())))}
    codes = _codes(panel, items, stores)
    covariates = sorted(panel.covariates)
    residual = objective in ("l1", "l2")
    blocks, targets, weights = [], [], []
    for t, h in pairs:
        future = {name: panel.covariates[name][:, t + h] for name in covariates}
        x, d, base = _features(values, t, h, family, panel.dates[t + h], future, panel.covariates, codes)
        ok = ~np.isnan(values[:, t + h]) & ~np.isnan(values[:, t])
        blocks.append(x[ok])
        targets.append((values[ok, t + h] - (base[ok] if residual else 0.0)) / d[ok])
        weights.append(d[ok])
    names = feature_names(family, covariates)
    data = lgb.Dataset(
        np.concatenate(blocks),
        np.concatenate(targets),
        weight=np.concatenate(weights),
        feature_name=names,
        categorical_feature=["item_id", "store_id"],
        free_raw_data=True,
    )
    params = {
        "objective": OBJECTIVE[objective],
        "learning_rate": lgbm_params["learning_rate"],
        "num_leaves": lgbm_params["num_leaves"],
        "min_child_samples": lgbm_params["min_child_samples"],
        "seed": random_state,
        "num_threads": 1,  # OpenMP threads spin-wait: a team contends with itself on a busy machine
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "verbose": -1,
    }
    booster = lgb.train(params, data, num_boost_round=lgbm_params["n_estimators"])
    return DirectModel(booster, family, items, stores, covariates, names, residual)


def predict(model: DirectModel, panel: Panel, horizon: int, future: pd.DataFrame | None) -> np.ndarray:
    """(series, horizon) forecasts from the end of ``panel``; ``future`` as ``panel.future_covariates``."""
    values = panel.values
    n, t = len(values), values.shape[1] - 1
    dates = panel.future_dates(horizon)
    codes = _codes(panel, model.items, model.stores)
    cov_future: dict[str, np.ndarray] = {}
    if model.covariates:
        if future is None:
            raise ValueError("the model was trained with covariates; pass their future values")
        frame = future.sort_values(["unique_id", "ds"])
        for name in model.covariates:
            cov_future[name] = frame[name].to_numpy(float).reshape(n, horizon)
    out = np.empty((n, horizon))
    blocks, levels, bases = [], [], []
    for h in range(1, horizon + 1):
        step_cov = {name: matrix[:, h - 1] for name, matrix in cov_future.items()}
        x, d, base = _features(values, t, h, model.family, dates[h - 1], step_cov, panel.covariates, codes)
        blocks.append(x)
        levels.append(d)
        bases.append(base if model.residual else np.zeros(n))
    ratio = model.booster.predict(np.concatenate(blocks)).reshape(horizon, n)
    out[:] = (np.stack(bases) + ratio * np.stack(levels)).T
    return out
