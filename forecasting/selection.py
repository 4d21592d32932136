"""Choosing each store's blend on validation origins, before the holdout origins that are reported.

**Origins** (``plan``): rolling origins ``horizon`` periods apart, the last one ``horizon`` periods
before the end of the sales; as many as the history allows, up to ``max_holdout +
max_validation``. A validation origin needs a season plus a horizon of history (the model then
trains on at least a horizon of targets with a seasonal lag); a holdout origin also the model's
calibration windows. The latest origins are the **holdout** (half of them, at least one, at most
``max_holdout``): what the job reports and the promotion gate compares. The earlier ones are the
**validation** origins, where the blends (and the model's settings) are chosen, so the choice
never sees the holdout.

**Choice** (``choose``): at every validation origin each component (``forecasting.blend``)
forecasts ``horizon`` periods from the history up to the origin; every candidate blend is scored
per store by its weighted absolute error (holiday periods weigh ``HOLIDAY_WEIGHT``, as WMAE does;
1 otherwise, which is WAPE's numerator) summed over the store's series and origins, and each
store takes its best blend. ``"*"`` (stores not seen at validation, or without sales there) takes
the blend best over all stores. Ties go to the simpler blend (``blend.candidates``' order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting import blend
from forecasting.backtest import HOLIDAY_WEIGHT
from forecasting.panel import Panel


@dataclass(frozen=True)
class Origins:
    """Validation and holdout cutoffs (each the last period a fit may see), oldest first."""

    validation: list[pd.Timestamp]
    holdout: list[pd.Timestamp]


def plan(
    panel: Panel,
    *,
    horizon: int,
    season: int,
    holdout_history: int,
    max_holdout: int,
    max_validation: int,
) -> Origins:
    """The origins the history allows (module docstring); ``holdout`` is empty when none fits.

    Args:
        panel: the sales.
        horizon: periods forecast from each origin, and the spacing of the origins.
        season: periods per season.
        holdout_history: periods of history a holdout origin needs (the model's calibration).
        max_holdout, max_validation: caps on the number of origins of each kind.
    """
    last = len(panel.dates) - 1 - horizon
    positions = [last - k * horizon for k in range(max_holdout + max_validation)]
    positions = [p for p in positions if p + 1 >= season + horizon]
    n_holdout = min(max_holdout, max(1, len(positions) // 2), len(positions))
    holdout = [p for p in positions[:n_holdout] if p + 1 >= holdout_history]
    validation = positions[len(holdout) :][:max_validation] if holdout else []
    return Origins(
        validation=[panel.dates[p] for p in reversed(validation)],
        holdout=[panel.dates[p] for p in reversed(holdout)],
    )


@dataclass(frozen=True)
class ValidationSet:
    """What happened after each validation origin, and the statistical components' forecasts.

    Attributes:
        histories: the panel as known at each origin (the model is refit on each).
        store_ids: (rows,) the store of each (origin, series) row, origins stacked.
        actual, weight: (rows, horizon) actual values (a period without a row is 0) and weights.
        parts: component -> (rows, horizon) forecasts, for the components that need no fit.
        clip: blended forecasts are clipped at 0 (the sales have no negatives).
    """

    histories: list[Panel]
    store_ids: np.ndarray
    actual: np.ndarray
    weight: np.ndarray
    parts: dict[str, np.ndarray]
    clip: bool

    @property
    def n_series(self) -> int:
        return len(self.histories[-1].item_ids) if self.histories else 0


def validation_set(
    panel: Panel, cutoffs: Sequence[pd.Timestamp], horizon: int, names: Sequence[str]
) -> ValidationSet:
    """Actuals and the statistical components ``names`` (not ``lgbm``) at every validation origin."""
    histories, stores, actual, weight = [], [], [], []
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    holiday = panel.covariates.get("holiday")
    for cutoff in cutoffs:
        history = panel.upto(cutoff)
        start, rows = len(history.dates), panel.rows_of(history)
        window = slice(start, start + horizon)
        actual.append(np.nan_to_num(panel.values[rows, window]))
        flags = np.zeros_like(actual[-1]) if holiday is None else holiday[rows, window]
        weight.append(np.where(flags > 0, HOLIDAY_WEIGHT, 1.0))
        for name, values in blend.components(history, horizon, names).items():
            parts[name].append(values)
        histories.append(history)
        stores.append(history.store_ids)
    clip = bool(np.nanmin(panel.values) >= 0)
    if not histories:  # no validation origin: an empty set, nothing to choose on
        empty = np.zeros((0, horizon))
        return ValidationSet([], np.array([], dtype=str), empty, empty, {n: empty for n in names}, clip)
    stacked = {name: np.concatenate(values) for name, values in parts.items()}
    return ValidationSet(
        histories, np.concatenate(stores), np.concatenate(actual), np.concatenate(weight), stacked, clip
    )


def lgbm_parts(validation: ValidationSet, forecast: Callable[[Panel], np.ndarray]) -> np.ndarray:
    """The model's (rows, horizon) forecasts: ``forecast(history)`` refit at every validation origin."""
    return np.concatenate([forecast(history) for history in validation.histories])


@dataclass(frozen=True)
class Choice:
    """Each store's blend and how it scored on validation.

    Attributes:
        weights: store -> blend, plus ``"*"``: ``GlobalForecaster(blend_weights=...)``.
        score: the chosen blends' weighted absolute error over the weighted absolute actuals
            (pooled over stores and origins; lower is better).
        scores: the same ratio per candidate had every store taken it (the one-blend-for-all scores).
    """

    weights: dict[str, dict[str, float]]
    score: float
    scores: dict[str, float]


def choose(
    validation: ValidationSet, lgbm: np.ndarray | None, candidates: Sequence[dict[str, float]]
) -> Choice:
    """Each store's best candidate on the validation origins (module docstring)."""
    parts = dict(validation.parts) if lgbm is None else {**validation.parts, "lgbm": lgbm}
    names, codes = np.unique(validation.store_ids, return_inverse=True)
    total = np.bincount(codes, weights=(validation.weight * np.abs(validation.actual)).sum(axis=1))
    errors = np.empty((len(names), len(candidates)))
    for j, candidate in enumerate(candidates):
        mean = sum(w * parts[c] for c, w in candidate.items())
        if validation.clip:
            mean = np.maximum(mean, 0.0)
        row_error = (validation.weight * np.abs(validation.actual - mean)).sum(axis=1)
        errors[:, j] = np.bincount(codes, weights=row_error, minlength=len(names))
    best = errors.argmin(axis=1)  # the first minimum: the simplest blend on a tie
    overall = int(errors.sum(axis=0).argmin())
    weights = {str(names[s]): dict(candidates[best[s]]) for s in range(len(names)) if total[s] > 0}
    weights[blend.OTHER_STORES] = dict(candidates[overall])
    denominator = total.sum()
    chosen = np.where(total > 0, errors[np.arange(len(names)), best], errors[:, overall]).sum()
    scores = {describe(c): float(errors[:, j].sum() / denominator) for j, c in enumerate(candidates)}
    return Choice(weights, float(chosen / denominator) if denominator > 0 else float("nan"), scores)


def describe(weights: dict[str, float]) -> str:
    """``lgbm 0.5 + regression 0.5``."""
    return " + ".join(f"{c} {weights[c]:g}" for c in blend.COMPONENTS if weights.get(c))


def summary(weights: dict[str, dict[str, float]]) -> str:
    """How many stores took each blend: ``lgbm 0.5 + regression 0.5: 30; naive 1: 2``."""
    counts = pd.Series([describe(w) for s, w in weights.items() if s != blend.OTHER_STORES]).value_counts()
    return "; ".join(f"{name}: {n}" for name, n in counts.items())
