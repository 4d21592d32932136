"""Rolling-origin backtests: refit at several cutoffs, forecast ahead, score against what happened.

At every cutoff the model is fit on the sales **up to and including** the cutoff only (the frame
is filtered before the model sees it, so nothing after the cutoff can leak into features,
scalers or intervals) and forecasts ``horizon`` periods; the baselines (statsforecast's seasonal
naive and AutoETS, with their own intervals at the same level; for daily data fit on the last
52 weeks) forecast the same cells. Cells are (series, period) of the series known at the cutoff;
a period without a sales row counts as zero sales.

Metrics, pooled over every cutoff's cells: MAE, RMSE, WAPE, MASE (the mean over series of MAE
divided by the series' in-sample seasonal naive MAE at the cutoff), WMAE (holiday periods weigh
5, as in the Walmart competition; only when sales have a ``holiday`` column) and the interval
coverage. ``per_series`` holds the same numbers per series, pooled over cutoffs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from forecasting.blend import statsforecast_jobs
from forecasting.features import season_length
from forecasting.panel import Panel, build_panel, freq_family, series_scale

HOLIDAY_WEIGHT = 5.0
DAILY_BASELINE_DAYS = 364
BASELINES = {"SeasonalNaive": "baseline_snaive", "AutoETS": "baseline_ets"}


@dataclass(frozen=True)
class Backtest:
    """Forecasts and scores of one rolling-origin backtest.

    Attributes:
        cells: one row per (model, cutoff, series, period): actual, mean, lower, upper, weight,
            scale (the series' seasonal naive MAE at the cutoff).
        metrics: ``{prefix}{metric}`` pooled over cutoffs; the model has no prefix, baselines
            ``baseline_snaive_`` and ``baseline_ets_``.
        per_series: the same metrics per model and series.
        cutoffs: the cutoff dates.
        level: nominal interval coverage.
    """

    cells: pd.DataFrame
    metrics: dict[str, float]
    per_series: pd.DataFrame
    cutoffs: list[pd.Timestamp]
    level: float


def cutoffs_for(panel: Panel, *, horizon: int, windows: int, step: int | None = None) -> list[pd.Timestamp]:
    """``windows`` cutoffs ``step`` (default ``horizon``) apart, the last ``horizon`` before the end."""
    step = step or horizon
    last = len(panel.dates) - 1 - horizon
    return [panel.dates[last - w * step] for w in reversed(range(windows)) if last - w * step >= 0]


def run_backtest(
    sales: pd.DataFrame,
    fit_model: Callable[[pd.DataFrame, pd.Timestamp], Any],
    *,
    horizon: int,
    cutoffs: list[pd.Timestamp],
    level: float = 0.8,
    freq: str | None = None,
    baselines: bool = True,
    clip_history: bool = False,
    max_baseline_series: int | None = None,
    seed: int = 0,
) -> Backtest:
    """Backtest ``fit_model`` (sales up to a cutoff, the cutoff -> a fitted forecaster).

    The fitted forecaster must have ``predict(horizon)`` returning item_id, store_id, date,
    mean, lower, upper (``GlobalForecaster`` and ``SeasonalNaiveForecaster`` do).
    ``clip_history`` trains every model on sales clipped at 0 (returns are not negative demand)
    while scoring against the raw values. ``max_baseline_series`` caps the series the baselines
    forecast (a seeded sample: AutoETS costs ~45 ms per series and cutoff); the model is then also
    scored on that same sample as ``model_on_sample_*``, so the comparison stays like for like.
    The seasonal naive forecasts every series. ``seed`` draws the sample.
    """
    panel = build_panel(sales, freq)
    sample = None
    if max_baseline_series is not None and len(panel.item_ids) > max_baseline_series:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(len(panel.item_ids), max_baseline_series, replace=False))
    season = season_length(panel.freq)
    dates = sales["date"].dt.normalize()
    parts = []
    for cutoff in cutoffs:
        history = panel.upto(cutoff)
        truth = _truth(panel, history, horizon, season)
        past = sales[dates <= cutoff]
        if clip_history:
            past = past.assign(quantity=past["quantity"].clip(lower=0))
            history = replace(history, values=np.maximum(history.values, 0.0))  # NaN stays NaN
        model = fit_model(past, cutoff)
        forecast = model.predict(horizon)
        parts.append(_join(truth, forecast, "model", cutoff))
        if not baselines:
            continue
        for name, frame in baseline_forecasts(history, horizon, level, models=("SeasonalNaive",)).items():
            parts.append(_join(truth, frame, name, cutoff))
        ets_truth = truth
        if sample is not None:
            keys = pd.MultiIndex.from_arrays([panel.item_ids[sample], panel.store_ids[sample]])
            ets_truth = truth[pd.MultiIndex.from_frame(truth[["item_id", "store_id"]]).isin(keys)]
            parts.append(_join(ets_truth, forecast, "model_on_sample", cutoff))
        for name, frame in baseline_forecasts(
            history, horizon, level, keys=ets_truth, models=("AutoETS",)
        ).items():
            parts.append(_join(ets_truth, frame, name, cutoff))
    cells = pd.concat(parts, ignore_index=True)
    metrics, per_series = score(cells, level)
    if "holiday" not in panel.covariates:  # without holiday flags WMAE is just MAE: leave it out
        metrics = {k: v for k, v in metrics.items() if not k.endswith("wmae")}
        per_series = per_series.drop(columns="wmae")
    return Backtest(cells, metrics, per_series, list(cutoffs), level)


def _truth(panel: Panel, history: Panel, horizon: int, season: int) -> pd.DataFrame:
    """Actual values, weights and scales of the ``horizon`` periods after ``history``'s end."""
    start = len(history.dates)
    stop = min(start + horizon, len(panel.dates))
    rows = panel.rows_of(history)
    actual = np.nan_to_num(panel.values[rows, start:stop])
    holiday = panel.covariates.get("holiday")
    weight = (
        np.ones_like(actual)
        if holiday is None
        else np.where(holiday[rows, start:stop] > 0, HOLIDAY_WEIGHT, 1.0)
    )
    steps = stop - start
    return pd.DataFrame(
        {
            "item_id": np.repeat(history.item_ids, steps),
            "store_id": np.repeat(history.store_ids, steps),
            "date": np.tile(panel.dates[start:stop], len(rows)),
            "step": np.tile(np.arange(1, steps + 1), len(rows)),
            "actual": actual.ravel(),
            "weight": weight.ravel(),
            "scale": np.repeat(series_scale(history.values, season), steps),
        }
    )


def _join(truth: pd.DataFrame, forecast: pd.DataFrame, name: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    columns = ["item_id", "store_id", "date", "mean", "lower", "upper"]
    merged = truth.merge(forecast[columns], on=["item_id", "store_id", "date"], how="left")
    return merged.assign(model=name, cutoff=cutoff)


def baseline_forecasts(
    history: Panel,
    horizon: int,
    level: float,
    *,
    keys: pd.DataFrame | None = None,
    models: tuple[str, ...] = tuple(BASELINES),
) -> dict[str, pd.DataFrame]:
    """statsforecast's ``models`` (SeasonalNaive, AutoETS) for every series of ``history`` or of ``keys``."""
    from statsforecast import StatsForecast  # lazy: a training-only dependency
    from statsforecast.models import AutoETS, Naive, SeasonalNaive

    season = season_length(history.freq)
    # ETS seasonality beyond 24 periods is not estimable (R's ets refuses it too): weekly
    # data gets a non-seasonal AutoETS, the seasonal naive carries the yearly pattern.
    ets = AutoETS(season_length=season if season <= 24 else 1)
    frame = history.long()[["unique_id", "ds", "y"]]
    if keys is not None:
        wanted = pd.MultiIndex.from_frame(keys[["item_id", "store_id"]].drop_duplicates())
        ids = pd.MultiIndex.from_arrays([history.item_ids, history.store_ids]).isin(wanted)
        frame = frame[frame["unique_id"].isin(np.flatnonzero(ids))]
    if freq_family(history.freq) == "D":
        # Daily: the last 52 weeks only. ETS states adapt to recent data anyway, and fitting two
        # years of days per series made the baselines most of the training job's time.
        frame = frame[frame["ds"] > history.end - pd.Timedelta(days=DAILY_BASELINE_DAYS)]
    pct = round(level * 100)
    # A series too short for a model (statsforecast refuses "tiny datasets") gets a naive forecast.
    chosen = [{"SeasonalNaive": SeasonalNaive(season), "AutoETS": ets}[m] for m in models]
    jobs = statsforecast_jobs(frame["unique_id"].nunique())
    forecaster = StatsForecast(models=chosen, freq=history.freq, n_jobs=jobs, fallback_model=Naive())
    out = forecaster.forecast(df=frame, h=horizon, level=[pct])
    ids = out["unique_id"].to_numpy(int)
    result = {}
    for model in models:
        result[BASELINES[model]] = pd.DataFrame(
            {
                "item_id": history.item_ids[ids],
                "store_id": history.store_ids[ids],
                "date": out["ds"].to_numpy(),
                "mean": out[model].to_numpy(float),
                "lower": out[f"{model}-lo-{pct}"].to_numpy(float),
                "upper": out[f"{model}-hi-{pct}"].to_numpy(float),
            }
        )
    return result


def score(cells: pd.DataFrame, level: float) -> tuple[dict[str, float], pd.DataFrame]:
    """Pooled metrics per model (prefixed) and the per-series table, from per-series sums."""
    err = cells["actual"] - cells["mean"]
    parts = pd.DataFrame(
        {
            "model": cells["model"],
            "item_id": cells["item_id"],
            "store_id": cells["store_id"],
            "n": 1.0,
            "abs": err.abs(),
            "sq": err**2,
            "actual": cells["actual"].abs(),
            "w": cells["weight"],
            "w_abs": cells["weight"] * err.abs(),
            "scale": cells["scale"],
            "inside": ((cells["actual"] >= cells["lower"]) & (cells["actual"] <= cells["upper"])).astype(
                float
            ),
        }
    )
    sums = parts.groupby(["model", "item_id", "store_id"], sort=True).sum()
    per_series = _ratios(sums, level)
    per_series["mase"] = (sums["abs"] / sums["scale"]).to_numpy()  # mean |error| / mean scale
    metrics: dict[str, float] = {}
    for name, block in sums.groupby(level="model", sort=False):
        prefix = "" if name == "model" else f"{name}_"
        pooled = _ratios(block.sum().to_frame().T, level).iloc[0]
        pooled["mase"] = float(per_series.loc[name, "mase"].mean())
        metrics.update({prefix + key: float(value) for key, value in pooled.items()})
    return metrics, per_series.reset_index()


def _ratios(sums: pd.DataFrame, level: float) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "mae": sums["abs"] / sums["n"],
                "rmse": np.sqrt(sums["sq"] / sums["n"]),
                "wape": (sums["abs"] / sums["actual"]).where(sums["actual"] > 0),
                "wmae": sums["w_abs"] / sums["w"],
                f"coverage_{round(level * 100)}": sums["inside"] / sums["n"],
            },
            index=sums.index,
        )


def series_sums(cells: pd.DataFrame, rows: dict[str, str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per series (``item|store``, sorted): (sum |error|, sum |actual|) over all its cells, per model.

    ``rows`` maps an output name to a ``cells`` model name (``{"model": "model", "snaive":
    "baseline_snaive"}``). A model that did not forecast every cell of ``"model"`` is left out.
    """
    cells = cells.assign(abs=(cells["actual"] - cells["mean"]).abs(), actual=cells["actual"].abs())
    sums = cells.groupby(["model", "item_id", "store_id"], sort=True).agg(
        abs=("abs", "sum"), actual=("actual", "sum"), n=("mean", "count"), cells=("actual", "size")
    )
    reference = sums.loc["model"]
    case_ids = (reference.index.get_level_values(0) + "|" + reference.index.get_level_values(1)).to_numpy(str)
    out = {}
    for name, model in rows.items():
        if model not in sums.index.get_level_values(0):
            continue
        block = sums.loc[model].reindex(reference.index)
        if block["n"].isna().any() or (block["n"] != reference["cells"]).any():
            continue  # a sample, or a model without a forecast somewhere: not the same cases
        out[name] = block[["abs", "actual"]].to_numpy(float)
    return case_ids, out
