"""The forecasting baseline: seasonal naive ("same day last week") with empirical intervals.

Every (item_id, store_id) pair is one daily series. The point forecast for ``h`` days ahead repeats
the last observed season: ``y[T + h] = y[T + h - s * ceil(h / s)]``. The interval comes from the
series' own history of seasonal-naive errors ``e_t = y_t - y_{t-s}``: their empirical
``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles, widened by ``sqrt(ceil(h / s))`` for
forecasts more than one season ahead (errors of successive seasons add up like a random walk).

Data conventions, chosen because a sales log has no row for a day without sales:

* A day with no row counts as zero sales, from the series' first row up to the last date of the
  whole frame, so every series ends on the same day and forecasts of all series line up.
* Before its first row a series does not exist: those days give no errors, and count as zero in
  the last season when the series is younger than one season.
* Rows of the same series and day are summed; a NaN quantity counts as zero.
* A series without a single seasonal error (younger than ``s + 1`` days) borrows the median
  quantiles of the other series.
"""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.lookup import sales_points, series_rows
from forecasting.panel import check_sales
from forecasting.types import ForecastPoint, SalesPoint
from models.artifact import check_is_fitted, load_npz, save_npz
from models.base import ModelBase
from models.errors import ArtifactError, InvalidInputError

PAYLOAD = "series.npz"
DEFAULT_STORE = "all"


@dataclass(frozen=True)
class DailySeries:
    """Sales as a dense (series, days) matrix; NaN before each series' first row, 0 on empty days."""

    item_ids: np.ndarray
    store_ids: np.ndarray
    start: np.datetime64
    values: np.ndarray

    @property
    def end(self) -> np.datetime64:
        """The last day (the last column)."""
        return self.start + np.timedelta64(self.values.shape[1] - 1, "D")


def daily_series(sales: pd.DataFrame) -> DailySeries:
    """Densify a sales frame into one row per (item_id, store_id), sorted by key.

    Raises:
        DataValidationError: a required column is missing, ``date`` is not a date-time column or
            ``quantity`` is not numeric.
    """
    check_sales(sales)
    days = sales["date"].dt.tz_localize(None) if sales["date"].dt.tz else sales["date"]
    days = days.to_numpy().astype("datetime64[D]")
    stores = (
        sales["store_id"].astype(str)
        if "store_id" in sales.columns
        else pd.Series(DEFAULT_STORE, sales.index)
    )
    keys = pd.MultiIndex.from_arrays([sales["item_id"].astype(str), stores])
    codes, uniques = keys.factorize(sort=True)
    start = days.min()
    cols = (days - start).astype(np.int64)
    values = np.zeros((len(uniques), int(cols.max()) + 1))
    np.add.at(values, (codes, cols), np.nan_to_num(sales["quantity"].to_numpy(float)))
    first = np.full(len(uniques), values.shape[1])
    np.minimum.at(first, codes, cols)
    values[np.arange(values.shape[1]) < first[:, None]] = np.nan
    item_ids = np.array(uniques.get_level_values(0), dtype=str)
    store_ids = np.array(uniques.get_level_values(1), dtype=str)
    return DailySeries(item_ids, store_ids, start, values)


class SeasonalNaiveForecaster(ModelBase):
    """Seasonal naive forecasts with empirical prediction intervals, per (item, store) series.

    Args:
        season_length: days in a season (7: weekly pattern).
        level: coverage of the prediction interval, in (0, 1).
        max_horizon: the longest horizon ``forecast``/``predict`` accept, in days.
    """

    family = "forecasting"
    model_type = "seasonal_naive"
    format_version = 1

    # Learned attributes exist only after fit/load (scikit-learn style), one row per series.
    item_ids_: np.ndarray
    store_ids_: np.ndarray
    last_values_: np.ndarray  # (series, season_length): the last observed season
    lower_q_: np.ndarray  # seasonal-error quantiles bounding the interval
    upper_q_: np.ndarray
    last_date_: np.ndarray  # datetime64[D]
    data_window_: dict[str, Any]

    def __init__(self, *, season_length: int = 7, level: float = 0.9, max_horizon: int = 56) -> None:
        self.season_length = season_length
        self.level = level
        self.max_horizon = max_horizon

    def fit(self, sales: pd.DataFrame) -> SeasonalNaiveForecaster:
        """Keep each series' last season and its seasonal-error quantiles.

        Args:
            sales: normalised sales (item_id, store_id, date, quantity); ``store_id`` may be
                absent, meaning one store called ``"all"``.

        Returns:
            self.

        Raises:
            InvalidInputError: a hyper-parameter is out of range (``field`` names it).
            DataValidationError: a required column is missing or has the wrong type.
        """
        self._check_params()
        series = daily_series(sales)
        s = self.season_length
        values = series.values
        if values.shape[1] < s:  # shorter than one season: the missing past counts as zero
            values = np.pad(values, ((0, 0), (s - values.shape[1], 0)), constant_values=np.nan)
        errors = values[:, s:] - values[:, :-s]
        self.lower_q_, self.upper_q_ = _error_quantiles(errors, self.level)
        self.last_values_ = np.nan_to_num(values[:, -s:], nan=0.0)
        self.item_ids_, self.store_ids_ = series.item_ids, series.store_ids
        self.last_date_ = np.full(len(series.item_ids), series.end, dtype="datetime64[D]")
        self.data_window_ = {
            "start": str(series.start),
            "end": str(series.end),
            "rows": int(len(sales)),
            "series": int(len(series.item_ids)),
        }
        self._build_index()
        return self

    def _check_params(self) -> None:
        s, level, h = self.season_length, self.level, self.max_horizon
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1:
            raise InvalidInputError(
                f"season_length must be an integer >= 1, got {s!r}", field="season_length"
            )
        if not isinstance(level, int | float) or not 0 < level < 1:
            raise InvalidInputError(f"level must be in (0, 1), got {level!r}", field="level")
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
            raise InvalidInputError(f"max_horizon must be an integer >= 1, got {h!r}", field="max_horizon")

    def _build_index(self) -> None:
        # O(1) lookups: (item, store) -> row, and item -> its rows (for store_id=None).
        pairs = zip(self.item_ids_.tolist(), self.store_ids_.tolist(), strict=True)
        self._rows = {pair: n for n, pair in enumerate(pairs)}
        self._item_rows: dict[str, list[int]] = {}
        for n, item in enumerate(self.item_ids_.tolist()):
            self._item_rows.setdefault(item, []).append(n)

    # ------------------------------------------------------------------ query
    def forecast(
        self, item_id: str, *, store_id: str | None = None, horizon: int = 14
    ) -> list[ForecastPoint]:
        """Forecast one series for the ``horizon`` days after its last date.

        With ``store_id=None`` an item sold in one store gives that series; an item sold in
        several stores gives their total: the sum of the point forecasts and, as a simple and
        conservative (too wide when stores' errors are independent) interval, the sum of bounds.

        Args:
            item_id: the item.
            store_id: the store, or None (see above).
            horizon: number of days, 1..``max_horizon``.

        Returns:
            Exactly ``horizon`` points on consecutive days.

        Raises:
            NotFittedError: before ``fit``/``load``.
            InvalidInputError: ``horizon`` out of range, or an id that is not a string.
            UnknownIdError: the item, or the item in that store, was never seen.
        """
        check_is_fitted(self, ("last_values_",))
        steps = self._check_horizon(horizon)
        rows = self._series_rows(item_id, store_id)
        mean, lower, upper = (part.sum(axis=0) for part in self._paths(rows, steps))
        first: datetime.date = self.last_date_[rows[0]].item()
        return [
            ForecastPoint(first + datetime.timedelta(days=d + 1), float(m), float(lo), float(up))
            for d, (m, lo, up) in enumerate(zip(mean, lower, upper, strict=True))
        ]

    def future_dates(self, horizon: int) -> list[datetime.date]:
        """The ``horizon`` days after the newest series' last date."""
        check_is_fitted(self, ("last_values_",))
        last: datetime.date = self.last_date_.max().item()
        return [last + datetime.timedelta(days=int(d) + 1) for d in self._check_horizon(horizon)]

    def predict(self, horizon: int) -> pd.DataFrame:
        """Forecast every series: ``horizon`` rows per series.

        Returns:
            Columns item_id, store_id, date (datetime64), mean, lower, upper, ordered by series
            then date.

        Raises:
            NotFittedError: before ``fit``/``load``.
            InvalidInputError: ``horizon`` out of range.
        """
        check_is_fitted(self, ("last_values_",))
        steps = self._check_horizon(horizon)
        n = len(self.item_ids_)
        mean, lower, upper = self._paths(np.arange(n), steps)
        dates = self.last_date_[:, None] + (steps + 1).astype("timedelta64[D]")
        return pd.DataFrame(
            {
                "item_id": np.repeat(self.item_ids_.astype(object), len(steps)),
                "store_id": np.repeat(self.store_ids_.astype(object), len(steps)),
                "date": dates.ravel().astype("datetime64[ns]"),
                "mean": mean.ravel(),
                "lower": lower.ravel(),
                "upper": upper.ravel(),
            }
        )

    def has_series(self, item_id: str, store_id: str | None = None) -> bool:
        """Whether ``forecast(item_id, store_id=store_id)`` would find a series."""
        check_is_fitted(self, ("last_values_",))
        return item_id in self._item_rows if store_id is None else (item_id, store_id) in self._rows

    def _check_horizon(self, horizon: Any) -> np.ndarray:
        ok = isinstance(horizon, int | np.integer) and not isinstance(horizon, bool)
        if not ok or not 1 <= horizon <= self.max_horizon:
            raise InvalidInputError(
                f"horizon must be an integer in 1..{self.max_horizon}, got {horizon!r}",
                field="horizon",
                value=horizon,
            )
        return np.arange(int(horizon))

    def _series_rows(self, item_id: Any, store_id: Any) -> list[int]:
        return series_rows(self._item_rows, self._rows, item_id, store_id)

    def _paths(self, rows: Any, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, lower, upper), each (len(rows), len(steps))."""
        s = self.season_length
        mean = self.last_values_[rows][:, steps % s]
        widen = np.sqrt(np.ceil((steps + 1) / s))
        # Quantiles are clamped around 0 so the interval always contains the point forecast.
        lower = mean + np.minimum(self.lower_q_[rows], 0.0)[:, None] * widen
        upper = mean + np.maximum(self.upper_q_[rows], 0.0)[:, None] * widen
        # Demand is not negative: clip at 0 unless the point forecast itself is (net returns).
        return mean, np.maximum(lower, np.minimum(mean, 0.0)), upper

    # ------------------------------------------------------------------ persistence
    def recent_sales(self, item_id: str, *, store_id: str | None = None) -> list[SalesPoint]:
        """The actual sales of the last season before the forecast starts (summed over the
        item's stores when ``store_id`` is None).

        Raises:
            InvalidInputError, UnknownIdError: as ``forecast``.
        """
        check_is_fitted(self, ("last_values_",))
        rows = self._series_rows(item_id, store_id)
        s = self.season_length
        dates = self.last_date_[rows[0]] - np.arange(s - 1, -1, -1).astype("timedelta64[D]")
        return sales_points(self.last_values_, dates, rows)

    def save(self, directory: str | Path) -> Path:
        """Write ``meta.json`` and ``series.npz`` (ids as 'U' arrays, no pickles)."""
        check_is_fitted(self, ("last_values_",))
        path = self._write_meta(directory)
        save_npz(
            path / PAYLOAD,
            item_ids=self.item_ids_,
            store_ids=self.store_ids_,
            last_values=self.last_values_,
            lower_q=self.lower_q_,
            upper_q=self.upper_q_,
            last_date=self.last_date_,
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> SeasonalNaiveForecaster:
        """Load a directory written by ``save``.

        Raises:
            ArtifactError: not a forecasting/seasonal_naive model of this version, or a bad payload.
        """
        meta = cls._read_meta(directory)
        arrays = load_npz(Path(directory) / PAYLOAD)
        model = cls(**meta["params"])
        try:
            model.item_ids_, model.store_ids_ = arrays["item_ids"], arrays["store_ids"]
            model.last_values_, model.last_date_ = arrays["last_values"], arrays["last_date"]
            model.lower_q_, model.upper_q_ = arrays["lower_q"], arrays["upper_q"]
        except KeyError as exc:
            raise ArtifactError(f"{directory}/{PAYLOAD} lacks array {exc}") from exc
        if model.last_values_.shape != (len(model.item_ids_), model.season_length):
            raise ArtifactError(f"{directory}/{PAYLOAD}: last_values has shape {model.last_values_.shape}")
        model.data_window_ = dict(meta.get("data_window", {}))
        model._build_index()
        return model


def _error_quantiles(errors: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (lower, upper) quantiles of seasonal errors; rows without errors borrow medians."""
    alpha = (1 - level) / 2
    if errors.shape[1] == 0:
        errors = np.full((errors.shape[0], 1), np.nan)
    with warnings.catch_warnings():  # all-NaN rows are expected (young series); handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        lower, upper = np.nanquantile(errors, [alpha, 1 - alpha], axis=1)
    missing = np.isnan(lower)
    if missing.any():
        fill_lo = float(np.median(lower[~missing])) if (~missing).any() else 0.0
        fill_hi = float(np.median(upper[~missing])) if (~missing).any() else 0.0
        lower[missing], upper[missing] = fill_lo, fill_hi
    return lower, upper
