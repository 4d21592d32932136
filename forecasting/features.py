"""The global model's features, per frequency: mlforecast lags, rolling means and calendar fields.

Everything the model sees at a period ``t`` is known at ``t - 1``: lags >= 1 (rolling statistics
are taken over lagged values), calendar fields of ``t`` itself, and the covariates of ``t``
(price, promotion, holiday), which ``panel.future_covariates`` fills for future periods with
values known in advance. The series keys ``item_id`` and ``store_id`` are categorical features
(the model is worse without them, docs/ARCHITECTURE.md); the per-series level comes from the lags and, for
``l2``, the per-series standardisation.

| freq | lags | rolling means (over lag 1) | seasonal | calendar |
|---|---|---|---|---|
| daily | 1, 7, 14, 28 | 7, 28 (+ std 28) | mean of the last 4 same weekdays | weekday, month, day of month |
| weekly | 52 | 13 | - | week of year, month |
| monthly | 1, 2, 3, 12 | 3, 12 | - | month |
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecasting.panel import SEASON, freq_family

STATIC = ("item_id", "store_id")
OBJECTIVE = {"l1": "regression_l1", "l2": "regression", "tweedie": "tweedie", "poisson": "poisson"}


def season_length(freq: str) -> int:
    """Periods per season: 7 (daily), 52 (weekly), 12 (monthly)."""
    return SEASON[freq_family(freq)]


def week_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    """ISO week number (1-53); pandas dropped ``DatetimeIndex.week``."""
    return dates.isocalendar().week.to_numpy(dtype=np.int64)


def make_forecaster(
    freq: str, objective: str, lgbm_params: dict[str, Any], *, seasonal_lag: bool = True
) -> Any:
    """An unfitted ``mlforecast.MLForecast`` with one LightGBM model named ``lgbm``.

    ``seasonal_lag=False`` leaves out the lag of one season (7, 52, 12): with ``denoise_rank``
    the model gets that lag from the denoised history instead (``forecasting.denoise``).

    mlforecast and LightGBM are imported here, lazily: serving loads precomputed forecasts and
    must not need either package.
    """
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, RollingStd, SeasonalRollingMean
    from mlforecast.target_transforms import LocalStandardScaler

    family = freq_family(freq)
    if family == "D":
        lags = [1, 7, 14, 28]
        transforms: dict[int, list[Any]] = {
            1: [RollingMean(7), RollingMean(28), RollingStd(28)],
            7: [SeasonalRollingMean(season_length=7, window_size=4)],
        }
        dates: list[Any] = ["dayofweek", "month", "day"]
    elif family == "W":
        # Over a 39-week recursive horizon short lags feed the model its own errors. On the first
        # 15 Walmart stores (WMAE / seasonal naive): lags 1, 2, 4, 52 + means 4, 13 + mean of
        # lags 51-53: 0.943; lags 1, 52: 0.913; lag 52 only: 0.901; without the 4-week mean:
        # 0.873; with only last year's week and the 13-week level: 0.867 (kept, the simplest).
        lags = [52]
        transforms = {1: [RollingMean(13)]}
        dates = [week_of_year, "month"]
    else:
        lags = [1, 2, 3, 12]
        transforms = {1: [RollingMean(3), RollingMean(12)]}
        dates = ["month"]
    if not seasonal_lag:
        lags = [lag for lag in lags if lag != SEASON[family]]
    model = LGBMRegressor(
        objective=OBJECTIVE[objective],
        # One thread: OpenMP threads spin-wait, so a team contends with itself on a busy machine.
        num_threads=1,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        verbose=-1,
        **lgbm_params,
    )
    # Standardising each series lets one l2 model share shapes across series of any volume;
    # tweedie/poisson keep raw counts (their log link already works in relative terms).
    scalers: list[Any] = [LocalStandardScaler()] if objective in ("l1", "l2") else []
    return MLForecast(
        models={"lgbm": model},
        freq=freq,
        lags=lags or None,
        lag_transforms=transforms,
        date_features=dates,
        target_transforms=scalers,
        num_threads=1,
    )
