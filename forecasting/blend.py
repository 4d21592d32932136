"""Per-store blends of the global model with statistical forecasts (``GlobalForecaster(blend_weights=)``).

A blend is a weight per component, the weights summing to 1; the served mean of a series is
``sum(weight[c] * forecast_c)`` with the weights of the series' store. Components:

- ``lgbm``: the global LightGBM model's own forecast;
- ``naive``: the seasonal naive (the same phase of the last season);
- ``regression``: the seasonal regression on the history denoised across stores
  (``forecasting.seasonal``);
- ``ets``: statsforecast's AutoETS per series (seasonal up to a 24-period season, else
  non-seasonal: R's ``ets`` refuses m > 24 too; daily data fit on the last 52 weeks). It costs
  ~45 ms per series and origin, so the training job offers it only on small stores.

``blend_weights`` maps a store id to its weights, and ``"*"`` to the weights of every other store
(one first seen after the choice). The training job chooses them per store on validation origins
(``forecasting.selection``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations_with_replacement

import numpy as np
import pandas as pd

from forecasting import seasonal
from forecasting.features import season_length
from forecasting.panel import Panel, freq_family
from models.errors import InvalidInputError

COMPONENTS = ("naive", "regression", "lgbm", "ets")  # also the order of preference on a tie
OTHER_STORES = "*"
DAILY_ETS_DAYS = 364

Weights = Mapping[str, float]
BlendWeights = Mapping[str, Weights]


def check_weights(blend_weights: BlendWeights, field: str = "blend_weights") -> None:
    """Refuse weights that are not a mapping of store -> {component: weight in [0, 1]} summing to 1.

    Raises:
        InvalidInputError: naming the store and what was wrong.
    """
    if not hasattr(blend_weights, "items") or not blend_weights:
        raise InvalidInputError(
            f"{field} must map store ids (or '*') to component weights, got {blend_weights!r}", field=field
        )
    for store, weights in blend_weights.items():
        unknown = [c for c in getattr(weights, "keys", lambda: ["?"])() if c not in COMPONENTS]
        if unknown:
            raise InvalidInputError(
                f"{field}[{store!r}]: unknown component {unknown[0]!r}; expected some of {list(COMPONENTS)}",
                field=field,
            )
        values = list(weights.values())
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1]
        if bad or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
            raise InvalidInputError(
                f"{field}[{store!r}]: weights must lie in [0, 1] and sum to 1, got {dict(weights)!r}",
                field=field,
            )


def weight_matrix(store_ids: np.ndarray, blend_weights: BlendWeights) -> np.ndarray:
    """(series, len(COMPONENTS)) weights of every series from its store (``"*"``, else lgbm alone)."""
    fallback = blend_weights.get(OTHER_STORES, {"lgbm": 1.0})
    table = {
        store: np.array([float(w.get(c, 0.0)) for c in COMPONENTS]) for store, w in blend_weights.items()
    }
    default = np.array([float(fallback.get(c, 0.0)) for c in COMPONENTS])
    return (
        np.stack([table.get(s, default) for s in store_ids.tolist()])
        if len(store_ids)
        else np.zeros((0, len(COMPONENTS)))
    )


def components(
    panel: Panel,
    horizon: int,
    names: Sequence[str],
    *,
    lgbm: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The (series, horizon) forecasts of the statistical components ``names`` from the end of ``panel``.

    ``lgbm``, when given, is passed through as the ``lgbm`` component. ``rows`` limits AutoETS to
    those series (the others get NaN there: give them no ``ets`` weight).
    """
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "lgbm":
            if lgbm is None:
                raise ValueError("the lgbm component needs the model's forecast")
            out[name] = lgbm
        elif name == "ets":
            out[name] = ets_forecast(panel, horizon, rows)
        else:
            out[name] = seasonal.baseline(name, panel, horizon)
    return out


def apply(weights: np.ndarray, parts: Mapping[str, np.ndarray]) -> np.ndarray:
    """``sum_c weights[:, c] * parts[c]`` over the weighted components (NaN at weight 0 is ignored)."""
    n = weights.shape[0]
    horizon = next(iter(parts.values())).shape[1]
    out = np.zeros((n, horizon))
    for c, name in enumerate(COMPONENTS):
        w = weights[:, c]
        if not w.any():
            continue
        out += w[:, None] * np.where(w[:, None] > 0, parts[name], 0.0)
    return out


def blended(panel: Panel, horizon: int, blend_weights: BlendWeights, lgbm: np.ndarray) -> np.ndarray:
    """The blended (series, horizon) mean of every series of ``panel`` with its store's weights."""
    weights = weight_matrix(panel.store_ids, blend_weights)
    used = [name for c, name in enumerate(COMPONENTS) if weights[:, c].any()]
    ets_rows = np.flatnonzero(weights[:, COMPONENTS.index("ets")] > 0)
    parts = components(panel, horizon, used, lgbm=lgbm, rows=ets_rows)
    return apply(weights, parts)


def candidates(available: Sequence[str], step: float = 0.25) -> list[dict[str, float]]:
    """Every blend of ``available`` components with weights in multiples of ``step``.

    Ordered simplest first (one component, then two ...), and within that by ``COMPONENTS``, so
    that a tie goes to the simpler blend and to the seasonal naive.
    """
    names = [c for c in COMPONENTS if c in available]
    units = round(1 / step)
    found: dict[tuple[int, ...], dict[str, float]] = {}
    for k in range(1, len(names) + 1):
        for combo in combinations_with_replacement(range(len(names)), units):
            counts = np.bincount(np.array(combo), minlength=len(names))
            if int((counts > 0).sum()) != k:
                continue
            key = tuple(int(c) for c in counts)
            found.setdefault(
                key, {names[i]: float(counts[i] / units) for i in range(len(names)) if counts[i]}
            )
    return sorted(found.values(), key=lambda w: (len(w), [-w.get(c, 0.0) for c in names]))


PARALLEL_MIN_SERIES = 100


def statsforecast_jobs(n_series: int) -> int:
    """Processes for statsforecast's per-series fits: one per usable core, or 1 for fewer than
    :data:`PARALLEL_MIN_SERIES` series (starting processes would cost more) or inside a daemonic
    process (a multiprocessing or Dask worker may not start children).

    Every series is fitted on its own, so the forecasts are the same whatever the count; two
    processes halve AutoETS on 2 cores (300 series, one origin: 17.7 s -> 9.2 s).
    """
    import multiprocessing
    import os

    if n_series < PARALLEL_MIN_SERIES or multiprocessing.current_process().daemon:
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def ets_forecast(panel: Panel, horizon: int, rows: np.ndarray | None = None) -> np.ndarray:
    """(series, horizon) AutoETS point forecasts of ``rows`` (default all); other rows NaN."""
    from statsforecast import StatsForecast  # lazy: a training-only dependency
    from statsforecast.models import AutoETS, Naive

    n = len(panel.item_ids)
    out = np.full((n, horizon), np.nan)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return out
    season = season_length(panel.freq)
    frame = panel.long()[["unique_id", "ds", "y"]]
    frame = frame[frame["unique_id"].isin(rows)]
    if freq_family(panel.freq) == "D":  # ETS states adapt to recent data; two years of days cost 2x
        frame = frame[frame["ds"] > panel.end - pd.Timedelta(days=DAILY_ETS_DAYS)]
    model = AutoETS(season_length=season if season <= 24 else 1)
    forecaster = StatsForecast(
        models=[model], freq=panel.freq, n_jobs=statsforecast_jobs(len(rows)), fallback_model=Naive()
    )
    result = forecaster.forecast(df=frame, h=horizon)
    ids = result["unique_id"].to_numpy(int)
    steps = result.groupby("unique_id").cumcount().to_numpy()
    out[ids, steps] = result["AutoETS"].to_numpy(float)
    return out
