"""Statistical seasonal baselines that ``GlobalForecaster(seasonal_blend=w)`` mixes into its mean.

``naive``: the seasonal naive (the same phase of the last season, ``seasonal_naive``).

``regression``: a seasonal regression on the history denoised across stores -- the building block
of the strongest public Walmart solutions (David Thaler's SVD step, then a per-series linear model
on the week of the year plus a yearly trend, R's ``tslm(y ~ trend + season)``). Per series:

1. The history is replaced by each item's rank-``RANK`` reconstruction across its stores
   (``denoise.low_rank``): what the stores share is signal, what one store shows alone in one
   week is mostly noise.
2. The seasonal level of a future period is the mean of every earlier season's value at the same
   phase (two years of the same week halve the variance of the week-to-week noise that the
   seasonal naive carries).
3. The trend is the mean of all year-on-year differences ``y[t] - y[t - season]`` in the history
   (with exactly two seasons: this year's mean minus last year's), added once per season between
   the averaged seasons and the forecast period -- least squares for ``y = week effect + trend x
   season number``.

A period with no earlier value at its phase (a series younger than a season) falls back to the
mean of the last 4 periods, as the seasonal naive does.

Why a blend: the global LightGBM model learns shapes and levels across series, but its seasonal
lag sees one season back only; the regression sees every season and pools stores. On the Walmart
validation origins the equal blend beat both parts and the blend with the seasonal naive
(docs/benchmarks/forecasting.md).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from forecasting import denoise, features
from forecasting.direct import column_at, quiet_empty_means
from forecasting.panel import Panel

BASELINES = ("naive", "regression")
RANK = 10  # validation: ranks 8-20 within 0.002 of each other, 5 worse, none (raw) 0.003 worse


def seasonal_regression(
    values: np.ndarray,
    horizon: int,
    season: int,
    *,
    groups: np.ndarray | None = None,
    rank: int | None = RANK,
) -> np.ndarray:
    """(series, horizon) forecasts from the end of ``values`` (series, periods; NaN before a start).

    Args:
        values: the history.
        horizon: periods ahead.
        season: periods per season (52 for weekly data).
        groups: (series,) item of each row; with ``rank`` the stores of one item are denoised together.
        rank: ``denoise.low_rank``'s rank, or None for the raw history.
    """
    history = np.asarray(values, dtype=float)
    if rank is not None and groups is not None:
        history = denoise.low_rank(history, groups, rank)
    n, t = history.shape
    out = np.empty((n, horizon))
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices of young series, handled
        yearly = history[:, season:] - history[:, :-season] if t > season else np.full((n, 1), np.nan)
        trend = np.nan_to_num(np.nanmean(yearly, axis=1))
        recent = np.nan_to_num(np.nanmean(history[:, max(0, t - 4) :], axis=1))
        for step in range(horizon):
            back = np.arange(step // season + 1, (t + step) // season + 1)  # seasons back, >= 1
            same = history[:, t + step - season * back]  # (series, seasons) at the same phase
            level = np.nanmean(same, axis=1)
            seasons_back = np.nanmean(np.where(np.isnan(same), np.nan, back[None, :]), axis=1)
            out[:, step] = np.where(np.isnan(level), recent, level + trend * np.nan_to_num(seasons_back))
    return out


def baseline(kind: str, panel: Panel, horizon: int) -> np.ndarray:
    """The ``kind`` baseline's (series, horizon) forecasts from the end of ``panel`` (``BASELINES``)."""
    season = features.season_length(panel.freq)
    if kind == "regression":
        return seasonal_regression(panel.values, horizon, season, groups=panel.item_ids)
    return seasonal_naive(panel.values, horizon, season)


def seasonal_naive(values: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(series, horizon) seasonal naive from the end of ``values``: the same phase of the last season.

    Where that period is unknown (a series younger than a season), the mean of the last 4 periods.
    """
    t = values.shape[1] - 1
    with quiet_empty_means():
        last4 = np.nan_to_num(np.nanmean(values[:, max(0, t - 3) :], axis=1))
    columns = [column_at(values, t + h - season * math.ceil(h / season), t) for h in range(1, horizon + 1)]
    out = np.column_stack(columns)
    return np.where(np.isnan(out), last4[:, None], out)
