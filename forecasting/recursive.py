"""Recursive strategy of the global model: mlforecast's lags, each step fed back into them.

``forecasting.features`` lists the lags, rolling means and calendar fields per frequency. With
``denoise_rank`` the lag of one season comes from the history denoised across stores
(``forecasting.denoise``) instead of the raw history, built from the panel it is given only, in
training and in prediction alike.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecasting import denoise, features
from forecasting.panel import Panel

STANDARDISED = ("l1", "l2")  # objectives whose target mlforecast standardises per series


def train(
    panel: Panel, *, objective: str, lgbm_params: dict[str, Any], denoise_rank: int | None = None
) -> Any:
    """A fitted ``mlforecast.MLForecast`` on every series of ``panel``."""
    forecaster = features.make_forecaster(panel.freq, objective, lgbm_params, seasonal_lag=not denoise_rank)
    if denoise_rank:
        panel, _ = _denoised(panel, None, 0, objective, denoise_rank)
    frame = panel.long()
    kwargs = {}
    if objective in STANDARDISED:
        # The target is standardised per series, so plain l2 would weigh a 5-unit series like
        # a 5,000-unit one; weighting rows by the series' spread makes the loss count units,
        # as WAPE and WMAE do.
        spread = np.nanstd(panel.values, axis=1)
        spread = np.where(spread > 0, spread, np.nanmean(spread[spread > 0]) if (spread > 0).any() else 1.0)
        frame["weight"] = (spread / spread.mean())[frame["unique_id"].to_numpy()]
        kwargs["weight_col"] = "weight"
    forecaster.fit(frame, static_features=list(features.STATIC), dropna=False, **kwargs)
    return forecaster


def predict(
    forecaster: Any,
    panel: Panel,
    horizon: int,
    future: pd.DataFrame | None,
    *,
    objective: str,
    denoise_rank: int | None = None,
) -> np.ndarray:
    """(series, horizon) recursive forecasts from the end of ``panel``."""
    if denoise_rank:
        panel, future = _denoised(panel, future, horizon, objective, denoise_rank)
    kwargs = {} if future is None else {"X_df": future}
    with warnings.catch_warnings():  # NaN lags of young series are expected: LightGBM routes them
        warnings.filterwarnings("ignore", "Found null values", UserWarning)
        frame = forecaster.predict(horizon, new_df=panel.long(), **kwargs)
    frame = frame.sort_values(["unique_id", "ds"])
    return frame["lgbm"].to_numpy(float).reshape(len(panel.item_ids), horizon)


def _denoised(
    panel: Panel, future: pd.DataFrame | None, horizon: int, objective: str, rank: int
) -> tuple[Panel, pd.DataFrame]:
    return denoise.with_feature(
        panel,
        future,
        horizon,
        rank=int(rank),
        season=features.season_length(panel.freq),
        standardise=objective in STANDARDISED,
    )
