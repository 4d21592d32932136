"""A global LightGBM forecaster across all series, with conformal intervals, served as lookups.

One LightGBM model learns from every (item, store) series at once (mlforecast builds the lags,
rolling means, calendar features and covariates; ``forecasting.features`` lists them). Forecasts
are recursive by default: each step feeds the previous prediction back into the lags;
``strategy="direct"`` (``forecasting.direct``) forecasts every step from the origin instead, and
``"ensemble"`` averages both. ``seasonal_blend`` mixes in a statistical baseline
(``forecasting.seasonal``: the seasonal naive or a seasonal regression); ``blend_weights`` blends
per store with the seasonal naive, the seasonal regression and AutoETS (``forecasting.blend``).
``denoise_rank`` takes the recursive model's seasonal lag from the history denoised across stores
(``forecasting.denoise``).

**Intervals** come from split conformal calibration on backtest windows. A calibration model is
fit on the history before the first of ``calibration_windows`` origins (``calibration_step``
periods apart, the last ``max_horizon`` periods before the end); it forecasts ``max_horizon``
periods from every origin, and its absolute errors, divided by each series' scale
(``panel.series_scale``: the in-sample seasonal naive MAE), give one quantile per step ``h`` over
all series and windows (with the finite-sample correction ``ceil((n + 1) * level) / n``). The
interval is ``mean +- q_h * scale``; an isotonic fit makes ``q_h`` non-decreasing in ``h``
(uncertainty never shrinks further ahead), and the lower bound is clipped at 0 when the sales
have no negatives.

**Serving** never runs LightGBM: ``fit`` precomputes ``max_horizon`` periods of mean/lower/upper
for every series; ``forecast`` slices arrays (``forecasting.lookup``). ``save`` writes those
arrays (npz) plus the booster as LightGBM text for provenance; nothing is pickled, and ``load``
needs neither LightGBM nor mlforecast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting import direct, features, recursive, seasonal
from forecasting.blend import blended, check_weights
from forecasting.lookup import PrecomputedLookup
from forecasting.panel import Panel, build_panel, freq_family, future_covariates, known_future, series_scale
from models.artifact import check_is_fitted, load_npz, save_npz
from models.base import ModelBase
from models.errors import ArtifactError, DataValidationError, InvalidInputError

PAYLOAD = "forecasts.npz"
BOOSTER = "booster.txt"
OBJECTIVES = ("l1", "l2", "tweedie", "poisson")
STRATEGIES = ("recursive", "direct", "ensemble")
CHOICES = {"objective": OBJECTIVES, "strategy": STRATEGIES, "seasonal_baseline": seasonal.BASELINES}
RECENT = ("recent", "recent_dates")  # the last max_horizon periods of actual sales
ARRAYS = ("item_ids", "store_ids", "dates", "mean", "lower", "upper", "scale", "quantiles")  # the npz


class GlobalForecaster(PrecomputedLookup, ModelBase):
    """Global LightGBM forecasts with conformal prediction intervals for every series.

    Args:
        freq: pandas frequency of the sales (``D``, ``W-FRI``, ``MS`` ...); None infers it.
        max_horizon: periods precomputed per series (and the longest ``forecast`` accepts).
        level: nominal coverage of the prediction interval, in (0, 1).
        objective: ``l2`` (per-series standardised target), ``l1`` (absolute error in units:
            WAPE/WMAE's loss), ``tweedie`` or ``poisson`` (log link, for intermittent demand).
        strategy: ``recursive`` (mlforecast, each step feeds the previous prediction back into
            the lags), ``direct`` (one model forecasts every step from the origin, target relative
            to the series' level: ``forecasting.direct``; always l1 or, for tweedie/poisson, that
            objective) or ``ensemble`` (the mean of both).
        seasonal_blend: weight in [0, 1] of the baseline in the served mean
            (``(1 - w) * model + w * baseline``); choose it on backtest windows.
        seasonal_baseline: ``naive`` (the seasonal naive) or ``regression`` (the mean of every
            earlier season's value plus the yearly trend, on the history denoised across stores:
            ``forecasting.seasonal``; for weekly data with a year or more of history).
        blend_weights: None, or per store the weights of the served mean's components
            (``{"store": {"lgbm": 0.5, "regression": 0.5}, "*": {...}}``: ``forecasting.blend``;
            ``"*"`` for other stores); replaces ``seasonal_blend``. The training job chooses
            them per store on validation origins.
        max_train_rows: (series, origin, step) rows the direct strategy samples for training.
        denoise_rank: None (off) or ``k``: the recursive model's seasonal lag comes from each
            item's (stores x periods) history reduced to its top ``k`` singular components
            (``forecasting.denoise``; series born inside the window and items in <= k stores stay raw).
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM's.
        calibration_windows: forecast origins whose errors calibrate the intervals.
        calibration_step: periods between those origins (None: a quarter of ``max_horizon``).
        random_state: LightGBM's seed.
    """

    family = "forecasting"
    model_type = "lgbm_global"
    format_version = 1

    item_ids_: np.ndarray
    store_ids_: np.ndarray
    dates_: np.ndarray  # datetime64[D], (max_horizon,)
    mean_: np.ndarray  # (series, max_horizon)
    lower_: np.ndarray
    upper_: np.ndarray
    scale_: np.ndarray  # (series,)
    quantiles_: np.ndarray  # (max_horizon,) conformal quantile of the scaled absolute error
    freq_: str
    data_window_: dict[str, Any]

    def __init__(
        self,
        *,
        freq: str | None = None,
        max_horizon: int = 56,
        level: float = 0.8,
        objective: str = "l2",
        strategy: str = "recursive",
        seasonal_blend: float = 0.0,
        seasonal_baseline: str = "naive",
        blend_weights: dict[str, dict[str, float]] | None = None,
        max_train_rows: int = 200_000,
        denoise_rank: int | None = None,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        calibration_windows: int = 3,
        calibration_step: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.freq = freq
        self.max_horizon = max_horizon
        self.level = level
        self.objective = objective
        self.strategy = strategy
        self.seasonal_blend = seasonal_blend
        self.seasonal_baseline = seasonal_baseline
        self.blend_weights = blend_weights
        self.max_train_rows = max_train_rows
        self.denoise_rank = denoise_rank
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.calibration_windows = calibration_windows
        self.calibration_step = calibration_step
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, sales: pd.DataFrame, *, calendar: pd.DataFrame | None = None) -> GlobalForecaster:
        """Train on all sales, calibrate the intervals and precompute every series' forecast.

        Args:
            sales: normalised sales (item_id, store_id?, date, quantity, price?, promotion?,
                holiday?), see docs/DATA.md.
            calendar: optional covariates known in advance for the forecast periods (``date``,
                optional ``item_id``/``store_id``, any of price/promotion/holiday). Without it the
                forecast assumes the last regular price, no promotion and no holiday. Columns it
                provides are taken as known in advance in the calibration windows too.

        Returns:
            self.

        Raises:
            InvalidInputError: a hyper-parameter out of range (``field`` names it).
            DataValidationError: a bad sales frame, or too little history to calibrate.
        """
        self._check_params()
        panel = build_panel(sales, self.freq)
        season = features.season_length(panel.freq)
        known = [] if calendar is None else [c for c in panel.covariates if c in calendar.columns]
        clip = bool(np.nanmin(panel.values) >= 0)
        self.quantiles_ = self._calibrate(panel, season, known, clip)
        forecaster = self._train(panel)
        mean = self._predict(forecaster, panel, future_covariates(panel, self.max_horizon, calendar), clip)
        self.scale_ = series_scale(panel.values, season)
        half = self.quantiles_[None, :] * self.scale_[:, None]
        self.mean_, self.upper_ = mean, mean + half
        self.lower_ = np.maximum(mean - half, 0.0) if clip else mean - half
        self.item_ids_, self.store_ids_, self.freq_ = panel.item_ids, panel.store_ids, panel.freq
        self.dates_ = panel.future_dates(self.max_horizon).to_numpy().astype("datetime64[D]")
        self.recent_ = panel.values[:, -self.max_horizon :].astype(np.float32)  # shown beside forecasts
        self.recent_dates_ = panel.dates[-self.max_horizon :].to_numpy().astype("datetime64[D]")
        self.booster_text_, self.feature_names_ = direct.describe(forecaster)
        self.data_window_ = {
            "start": panel.dates[0].date().isoformat(),
            "end": panel.end.date().isoformat(),
            "rows": int(len(sales)),
            "series": int(len(panel.item_ids)),
            "freq": panel.freq,
        }
        self._build_index()
        return self

    def point_forecast(self, panel: Panel) -> np.ndarray:
        """The model alone's (series, max_horizon) means from the end of ``panel``, trained on it.

        No blend, no intervals and nothing kept on ``self``: what validation origins score
        (``forecasting.selection``). Future covariates take their defaults (no calendar).
        """
        self._check_params()
        clip = bool(np.nanmin(panel.values) >= 0)
        forecaster = self._train(panel)
        future = future_covariates(panel, self.max_horizon)
        return self._predict(forecaster, panel, future, clip, blend=False)

    def _check_params(self) -> None:
        counts = ("max_horizon", "max_train_rows", "calibration_windows")
        for name in (*counts, "denoise_rank") if self.denoise_rank is not None else counts:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InvalidInputError(f"{name} must be an integer >= 1, got {value!r}", field=name)
        for name, options in CHOICES.items():
            if getattr(self, name) not in options:
                raise InvalidInputError(
                    f"{name} must be one of {list(options)}, got {getattr(self, name)!r}", field=name
                )
        level, blend = self.level, self.seasonal_blend
        if not isinstance(level, int | float) or not 0 < level < 1:
            raise InvalidInputError(f"level must be in (0, 1), got {level!r}", field="level")
        if isinstance(blend, bool) or not isinstance(blend, int | float) or not 0 <= blend <= 1:
            raise InvalidInputError(
                f"seasonal_blend must be in [0, 1], got {blend!r}", field="seasonal_blend"
            )
        if self.blend_weights is not None:
            check_weights(self.blend_weights)
        if self.freq is not None:
            freq_family(self.freq)

    def _train(self, panel: Panel) -> Any:
        if self.objective in ("tweedie", "poisson") and np.nanmin(panel.values) < 0:
            raise InvalidInputError(
                f"objective {self.objective!r} needs non-negative sales; use objective='l1' or 'l2'",
                field="objective",
            )
        if self.strategy != "recursive":
            model = direct.train(
                panel,
                horizon=self.max_horizon,
                objective=self.objective if self.objective in ("tweedie", "poisson") else "l1",
                lgbm_params=self._lgbm_params(),
                max_rows=int(self.max_train_rows),
                random_state=self.random_state,
            )
            return model if self.strategy == "direct" else (self._train_recursive(panel), model)
        return self._train_recursive(panel)

    def _train_recursive(self, panel: Panel) -> Any:
        return recursive.train(
            panel, objective=self.objective, lgbm_params=self._lgbm_params(), denoise_rank=self.denoise_rank
        )

    def _lgbm_params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "random_state": self.random_state,
        }

    def _predict(
        self, forecaster: Any, panel: Panel, future: pd.DataFrame | None, clip: bool, blend: bool = True
    ) -> np.ndarray:
        """(series, max_horizon) forecasts from the end of ``panel``, blended with the baseline."""
        if isinstance(forecaster, tuple):  # the ensemble: the mean of the recursive and direct forecasts
            parts = [self._predict(part, panel, future, clip=False, blend=False) for part in forecaster]
            mean = np.mean(parts, axis=0)
        elif isinstance(forecaster, direct.DirectModel):
            mean = direct.predict(forecaster, panel, self.max_horizon, future)
        else:
            mean = recursive.predict(
                forecaster,
                panel,
                self.max_horizon,
                future,
                objective=self.objective,
                denoise_rank=self.denoise_rank,
            )
        if blend and self.blend_weights is not None:
            mean = blended(panel, self.max_horizon, self.blend_weights, mean)
        elif blend and self.seasonal_blend:
            base = seasonal.baseline(self.seasonal_baseline, panel, self.max_horizon)
            mean = (1 - self.seasonal_blend) * mean + self.seasonal_blend * base
        return np.maximum(mean, 0.0) if clip else mean

    def _calibrate(self, panel: Panel, season: int, known: list[str], clip: bool) -> np.ndarray:
        """Per-step conformal quantiles of |error| / scale over the calibration windows."""
        h, windows = self.max_horizon, int(self.calibration_windows)
        step = int(self.calibration_step or max(1, h // 4))
        last = len(panel.dates) - 1 - h
        origins = [last - w * step for w in range(windows)]
        if origins[-1] < season:
            raise DataValidationError(
                f"sales: {len(panel.dates)} periods are too few to calibrate {windows} windows of "
                f"max_horizon={h} (step {step}) after a season of {season}; lower max_horizon or "
                "calibration_windows",
                file="sales",
                column="date",
            )
        forecaster = self._train(panel.upto(panel.dates[origins[-1]]))
        errors = []
        for origin in origins:
            history = panel.upto(panel.dates[origin])
            future = known_future(panel, history, h, known)
            mean = self._predict(forecaster, history, future, clip)
            rows = panel.rows_of(history)
            actual = np.nan_to_num(panel.values[rows, origin + 1 : origin + 1 + h])
            errors.append(np.abs(actual - mean) / series_scale(history.values, season)[:, None])
        scores = np.concatenate(errors)
        n = len(scores)
        rank = min(1.0, math.ceil((n + 1) * self.level) / n)
        quantiles = np.quantile(scores, rank, axis=0, method="higher")
        # Uncertainty does not shrink further ahead. An isotonic fit (not a running maximum,
        # which would ratchet up on every noisy step) makes the per-step quantiles monotone.
        from sklearn.isotonic import IsotonicRegression

        return IsotonicRegression(increasing=True).fit_transform(np.arange(h), quantiles)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write meta.json, the precomputed arrays (npz) and the booster (LightGBM text)."""
        check_is_fitted(self, ("mean_",))
        path = self._write_meta(
            directory, extra={"freq": self.freq_, "features": getattr(self, "feature_names_", [])}
        )
        save_npz(path / PAYLOAD, **{name: getattr(self, f"{name}_") for name in ARRAYS + RECENT})
        if getattr(self, "booster_text_", None):
            (path / BOOSTER).write_text(self.booster_text_)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> GlobalForecaster:
        """Load a directory written by ``save`` (reads only meta.json and the npz).

        Raises:
            ArtifactError: not a forecasting/lgbm_global model of this version, or a bad payload.
        """
        meta = cls._read_meta(directory)
        arrays = load_npz(Path(directory) / PAYLOAD)
        model = cls(**meta["params"])
        try:
            for name in ARRAYS:
                setattr(model, f"{name}_", arrays[name])
        except KeyError as exc:
            raise ArtifactError(f"{directory}/{PAYLOAD} lacks array {exc}") from exc
        if all(name in arrays for name in RECENT):  # artifacts saved before recent sales were kept lack them
            model.recent_, model.recent_dates_ = (arrays[name] for name in RECENT)
        expected = (len(model.item_ids_), model.max_horizon)
        if any(getattr(model, f"{n}_").shape != expected for n in ("mean", "lower", "upper")):
            raise ArtifactError(f"{directory}/{PAYLOAD}: forecast arrays are not of shape {expected}")
        extra = meta.get("extra", {})
        model.freq_ = extra.get("freq", model.freq or "D")
        model.feature_names_ = list(extra.get("features", []))
        model.data_window_ = dict(meta.get("data_window", {}))
        model._build_index()
        return model
