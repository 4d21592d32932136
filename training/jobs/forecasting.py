"""Train the global forecaster on a store's sales: per-store blends chosen on validation origins.

Design (``forecasting.selection``): rolling origins ``horizon`` periods apart (28 days, 13 weeks
or 6 months), as many as the history allows up to ``MAX_HOLDOUT + MAX_VALIDATION``. The latest
(at most ``MAX_HOLDOUT``) are the **holdout**; the earlier ones are **validation** origins.

1. At every validation origin the global LightGBM model is refit on the history up to it, and it
   and the statistical components (seasonal naive, seasonal regression, and AutoETS on stores of
   at most ``MAX_BASELINE_SERIES`` series) forecast ``horizon`` periods.
2. With a time budget (``budget_s``), ``training.tuning.tune`` searches the LightGBM settings
   (``forecasting.space``) on those origins, each trial scored by its per-store blends.
3. Every store takes the blend of components that forecast its series best there
   (``forecasting.blend.candidates``: weights in quarters); new stores take the best overall.
4. The holdout backtest refits the chosen model (settings and blends fixed) at each holdout
   origin, with its conformal intervals, beside seasonal naive and AutoETS (statsforecast). Its
   per-series errors are the ``Evaluation`` (cases: series) that the promotion gate compares.
5. The served model is refit on all sales with the same settings and blends: conformal intervals
   calibrated on the blended forecasts, ``max_horizon`` periods precomputed.

The primary metric stays ``wape`` (lower is better): it weighs series by volume, as stock costs
do, so the registry compares like with like. MASE, WMAE where holiday flags exist, RMSE, the
interval coverage and per-series summaries are logged beside it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd

from forecasting import blend, selection, space
from forecasting.backtest import Backtest, run_backtest, series_sums
from forecasting.features import season_length
from forecasting.global_model import GlobalForecaster
from forecasting.panel import Panel, build_panel, freq_family
from models.errors import DataValidationError
from models.evaluation import Evaluation, holdout_key
from training import progress
from training.jobs.base import CHAMPION_ROW, Champion, Rescore, TrainResult
from training.store import StoreData
from training.tuning import TuningReport, params_of, run_steps, tune

log = logging.getLogger(__name__)

HORIZON = {"D": 28, "W": 13, "M": 6}  # backtest horizon per frequency
MAX_HORIZON = {"D": 56, "W": 39, "M": 12}  # what the served model precomputes (less on short history)
# Origins: each holdout origin costs two LightGBM fits (model + calibration), each validation
# origin one. On the medium demo store (1,500 daily series) a fit takes ~30 s CPU.
MAX_HOLDOUT = 2
MAX_VALIDATION = 3
# Without a validation origin (short history): weekly sales get the blend with the seasonal
# regression validated on Walmart (0.865 x seasonal naive there, the model alone 0.981).
DEFAULT_BLEND = {"W": {"lgbm": 0.5, "regression": 0.5}}
# AutoETS fits one model per series and origin, too slow for large stores: a blend component and
# a full baseline row only on stores of at most this many series; above it, a baseline on a
# fixed sample of this size.
MAX_BASELINE_SERIES = 300
MAX_TRIALS = 30
# A case is a whole series (every cell of every holdout origin), not one observation: the gate
# decides on as few as this many series (the small demo store has 40).
MIN_SERIES = 30
ROWS = {"model": "model", "snaive": "baseline_snaive", "ets": "baseline_ets"}  # evaluation row -> cells
ROWS_WITH_CHAMPION = {"model": "model", CHAMPION_ROW: CHAMPION_ROW}


def train(
    store: StoreData, *, seed: int, budget_s: float = 0.0, champion: Champion | None = None
) -> TrainResult:
    """Choose per-store blends on validation origins, backtest on the holdout, refit on all sales.

    Args:
        store: the store's data; needs ``sales``.
        seed: LightGBM's random state and the settings search's seed.
        budget_s: seconds for the LightGBM settings search (0: the defaults, no search).
        champion: the served champion, re-scored on the holdout cells after the end of its
            training data: its served forecasts beside the new model's from origins at or after
            that end (``rescore_champion``).

    Returns:
        The model refit on all sales (forecasts precomputed), holdout metrics (primary ``wape``,
        lower is better; baselines as ``baseline_snaive_*`` and ``baseline_ets_*``), the per-series
        evaluation (rows ``model``, ``snaive``, and ``ets`` when it ran on every series), the
        settings search's report, and the design (origins, blends) as run parameters.

    Raises:
        DataValidationError: no sales, or too little history for one holdout origin.
    """
    if store.sales is None:
        raise DataValidationError("The forecasting job needs a sales file", file="sales")
    sales = store.sales
    panel = build_panel(sales)
    family = freq_family(panel.freq)
    horizon, season = HORIZON[family], season_length(panel.freq)
    origins = _origins(panel, horizon, season)
    names = ["naive", "regression"] + (["ets"] if len(panel.item_ids) <= MAX_BASELINE_SERIES else [])
    progress.stage("baselines at the validation origins")
    validation = selection.validation_set(panel, origins.validation, horizon, names)
    searching = " with settings search" if budget_s > 0 else ""
    progress.stage(f"choosing each store's blend{searching}", estimate_s=budget_s or None)
    settings, choice, tuning = _choose(validation, panel.freq, horizon, seed, budget_s)
    weights = choice.weights if choice else {blend.OTHER_STORES: DEFAULT_BLEND.get(family, {"lgbm": 1.0})}
    log.info(
        "forecasting: %d series, %d validation + %d holdout origins of %d periods; blends: %s",
        len(panel.item_ids),
        len(origins.validation),
        len(origins.holdout),
        horizon,
        selection.summary(weights) or selection.describe(weights[blend.OTHER_STORES]),
    )
    chosen = {"freq": panel.freq, "blend_weights": weights, "random_state": seed, **settings}
    progress.stage("holdout backtest")
    backtest = _holdout_backtest(sales, origins.holdout, horizon, chosen)
    progress.stage("final fit on all sales")
    model = _final_model(panel, family, season, chosen).fit(sales)
    evaluation = _evaluation(backtest.cells, origins.holdout)
    metrics = {**backtest.metrics, **_series_summary(backtest.per_series)}
    if choice is not None:
        metrics["validation_score"] = choice.score
    params = _params(panel, horizon, origins, weights, model, evaluation)
    return TrainResult(
        model,
        metrics,
        primary_metric="wape",
        greater_is_better=False,
        params=params,
        evaluation=evaluation,
        baselines=("snaive",),
        tuning=tuning,
        data_end=panel.end,
        figure_data={"backtest_cells": backtest.cells, "level": backtest.level},
        rescore=rescore_champion(champion, backtest.cells) if champion is not None else None,
    )


def rescore_champion(champion: Champion, cells: pd.DataFrame) -> Rescore:
    """The champion's served forecasts against the new model's on the holdout cells it has not seen.

    A cell counts when its period is after the champion's training data and the new model's
    origin is at or after that end too (neither side knew the actual); the champion's forecast
    is the one it serves, made from its own end (so at the same or a longer lead time).
    """
    end = champion.trained_until
    ours = cells[cells["model"] == "model"]
    if end is not None:
        ours = ours[(ours["date"] > end) & (ours["cutoff"] >= end)]
    else:
        ours = ours.iloc[:0]
    model = champion.model
    served = model.predict(int(model.max_horizon)).assign(date=lambda f: pd.to_datetime(f["date"]))
    theirs = ours.drop(columns=["mean", "lower", "upper"]).merge(
        served[["item_id", "store_id", "date", "mean", "lower", "upper"]], on=["item_id", "store_id", "date"]
    )
    keys = ["item_id", "store_id", "date", "cutoff"]
    ours = ours.merge(theirs[keys], on=keys)  # the cells both sides forecast
    n_series = ours.groupby(["item_id", "store_id"]).ngroups if len(ours) else 0
    if n_series < MIN_SERIES:
        return Rescore(
            champion.version,
            None,
            f"champion v{champion.version} was not re-scored: its forecasts cover {n_series} series of the "
            f"holdout periods after its training data, fewer than the {MIN_SERIES} a comparison needs",
        )
    case_ids, rows = series_sums(pd.concat([ours, theirs.assign(model=CHAMPION_ROW)]), ROWS_WITH_CHAMPION)
    evaluation = Evaluation(
        case_ids, rows, kind="ratio", greater_is_better=False, case_name="series", min_cases=MIN_SERIES
    )
    return Rescore(
        champion.version,
        evaluation,
        f"champion v{champion.version} re-scored with its served forecasts on {len(ours)} holdout cells of "
        f"{evaluation.n_cases} series after its training data",
    )


def _origins(panel: Panel, horizon: int, season: int) -> selection.Origins:
    """The validation and holdout origins; refuses a history without room for one holdout origin."""
    model = GlobalForecaster(max_horizon=horizon)
    step = max(1, horizon // 4)  # GlobalForecaster's default calibration_step at this max_horizon
    holdout_history = season + 1 + horizon + (model.calibration_windows - 1) * step
    origins = selection.plan(
        panel,
        horizon=horizon,
        season=season,
        holdout_history=holdout_history,
        max_holdout=MAX_HOLDOUT,
        max_validation=MAX_VALIDATION,
    )
    if not origins.holdout:
        needed = holdout_history + horizon
        raise DataValidationError(
            f"The forecasting job needs at least {needed} periods of sales (one backtest window of "
            f"{horizon} periods after a season plus calibration history); got {len(panel.dates)}",
            file="sales",
            column="date",
        )
    return origins


def _choose(
    validation: selection.ValidationSet, freq: str, horizon: int, seed: int, budget_s: float
) -> tuple[dict[str, Any], selection.Choice | None, TuningReport | None]:
    """LightGBM settings (searched within ``budget_s``) and per-store blends, on validation origins."""
    if not validation.histories:
        return {}, None, None
    objective = BlendObjective(validation, freq, horizon, seed)
    defaults = {k: v for k, v in GlobalForecaster().get_params().items() if k in space.KEYS}
    if budget_s <= 0:
        return {}, objective.choice(defaults), None
    report = tune(
        objective,
        space.suggest,
        direction="minimize",
        budget_s=budget_s,
        max_trials=MAX_TRIALS,
        seed=seed,
        defaults=defaults,
        metric="WAPE of the per-store blends (holiday periods x5)",
        n_cases=validation.n_series,
    )
    best = params_of(space.suggest, report.best_params)
    return {**defaults, **best}, objective.choice(best), report


class BlendObjective:
    """A settings trial: LightGBM refit at each validation origin, then each store's best blend.

    Staged for pruning (``training.tuning``): after each origin but the last it yields the
    LightGBM forecasts' weighted error so far, and it returns the chosen blends' score. A plain
    object, so a settings search can ship it to Dask workers; the choices it made in this
    process are remembered, so the best one is not fitted twice.
    """

    def __init__(self, validation: selection.ValidationSet, freq: str, horizon: int, seed: int) -> None:
        self.validation, self.freq, self.horizon, self.seed = validation, freq, horizon, seed
        self.candidates = blend.candidates([*validation.parts, "lgbm"])
        sizes = [len(h.store_ids) for h in validation.histories]
        self.bounds = np.concatenate([[0], np.cumsum(sizes)])
        self._choices: dict[str, selection.Choice] = {}

    def steps(self, settings: dict[str, Any]) -> Generator[float, None, float]:
        model = GlobalForecaster(freq=self.freq, max_horizon=self.horizon, random_state=self.seed, **settings)
        v = self.validation
        forecasts, error, total = [], 0.0, 0.0
        for i, history in enumerate(v.histories):
            forecasts.append(model.point_forecast(history))
            rows = slice(int(self.bounds[i]), int(self.bounds[i + 1]))
            error += float((v.weight[rows] * np.abs(v.actual[rows] - forecasts[-1])).sum())
            total += float((v.weight[rows] * np.abs(v.actual[rows])).sum())
            if i < len(v.histories) - 1:
                yield error / total if total > 0 else math.nan
        choice = selection.choose(v, np.concatenate(forecasts), self.candidates)
        self._choices[_key(settings)] = choice
        return choice.score

    def __call__(self, settings: dict[str, Any]) -> float:
        return run_steps(self.steps(settings))

    def choice(self, settings: dict[str, Any]) -> selection.Choice:
        """The blends chosen with ``settings`` (from the trial that ran here, else fitted now)."""
        if _key(settings) not in self._choices:
            self(settings)
        return self._choices[_key(settings)]


def _key(settings: dict[str, Any]) -> str:
    return repr(sorted(settings.items()))


def _holdout_backtest(
    sales: pd.DataFrame, cutoffs: list[pd.Timestamp], horizon: int, chosen: dict[str, Any]
) -> Backtest:
    """The chosen model (settings and blends fixed) refit at every holdout origin, beside the baselines."""

    def fit_at(history: pd.DataFrame, cutoff: pd.Timestamp) -> GlobalForecaster:
        del cutoff
        return GlobalForecaster(max_horizon=horizon, **chosen).fit(history)

    return run_backtest(
        sales,
        fit_at,
        horizon=horizon,
        cutoffs=cutoffs,
        level=GlobalForecaster().level,
        freq=chosen["freq"],
        max_baseline_series=MAX_BASELINE_SERIES,
    )


def _final_model(panel: Panel, family: str, season: int, chosen: dict[str, Any]) -> GlobalForecaster:
    """The served model: ``MAX_HORIZON`` periods and calibration windows that fit in the history."""
    windows = GlobalForecaster().calibration_windows
    room = len(panel.dates) - 1 - season  # periods left for max_horizon + the calibration steps
    max_horizon = max(HORIZON[family], min(MAX_HORIZON[family], room - (windows - 1)))
    step = max(1, min(max_horizon // 4, (room - max_horizon) // max(1, windows - 1)))
    return GlobalForecaster(max_horizon=max_horizon, calibration_step=step, **chosen)


def _evaluation(cells: pd.DataFrame, cutoffs: list[pd.Timestamp]) -> Evaluation:
    """One case per series: (sum |error|, sum |actual|) over the holdout cells, per model row."""
    case_ids, rows = series_sums(cells, ROWS)
    truth = ",".join(c.date().isoformat() for c in cutoffs)
    key = holdout_key(case_ids, rows["model"][:, 1], truth=truth)
    return Evaluation(
        case_ids,
        rows,
        kind="ratio",
        greater_is_better=False,
        holdout_key=key,
        case_name="series",
        min_cases=MIN_SERIES,
    )


def _params(
    panel: Panel,
    horizon: int,
    origins: selection.Origins,
    weights: dict[str, dict[str, float]],
    model: GlobalForecaster,
    evaluation: Evaluation,
) -> dict[str, Any]:
    def dates(cutoffs: list[pd.Timestamp]) -> str:
        return ",".join(c.date().isoformat() for c in cutoffs)

    return {
        "freq": panel.freq,
        "horizon": horizon,
        "backtest_cutoffs": dates(origins.holdout),
        "validation_cutoffs": dates(origins.validation),
        "holdout_origins": len(origins.holdout),
        "validation_origins": len(origins.validation),
        "series": len(panel.item_ids),
        "series_evaluated": evaluation.n_cases,
        "blends": selection.summary(weights),
        "blend_other_stores": selection.describe(weights[blend.OTHER_STORES]),
        "train_start": panel.dates[0].date().isoformat(),
        "train_end": panel.end.date().isoformat(),
        "max_horizon": model.max_horizon,
    }


def _series_summary(per_series: pd.DataFrame) -> dict[str, float]:
    """How the model fares series by series: MASE quantiles and the share beating each baseline."""
    table = per_series.pivot_table(index=["item_id", "store_id"], columns="model", values="mae")
    mase = per_series.loc[per_series["model"] == "model", "mase"].to_numpy(float)
    out = {
        "series_mase_median": float(np.nanmedian(mase)),
        "series_mase_p90": float(np.nanquantile(mase, 0.9)),
    }
    for baseline in (c for c in table.columns if c != "model"):
        out[f"series_share_beating_{baseline}"] = float((table["model"] < table[baseline]).mean())
    return out
