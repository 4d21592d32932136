"""Sales as a regular panel: one row per series and period, the feature input of the global model.

Training, backtests and the served forecasts all build their inputs here, so the lag machinery
(mlforecast) always sees the same layout:

* **Frequency**: daily, weekly (any anchor weekday) or monthly, inferred from the distinct dates
  or configured. Every sales date must lie on that grid.
* **Gaps are zero sales**: from a series' first row to the last date of the whole frame, a
  period without a row counts as zero (a sales log has no row for a period without sales), so
  every series ends on the same date and forecasts line up.
* **Covariates** ``price``, ``promotion`` and ``holiday`` (the contract's optional columns): price
  is carried forward (then backward) within a series; a missing promotion is 0; a missing
  holiday takes the date's flag from any other series (holidays are calendar facts), else 0.
* **Future covariates** for a horizon (``future_covariates``): the last regular price (the last
  one outside a promotion: a promotion price does not carry forward), promotion 0, and for
  weekly and monthly sales the holiday flag of the same period a year earlier (holidays recur
  yearly; Walmart's four holiday weeks lie exactly 52 weeks apart), for daily sales 0 (a year
  back falls on another weekday or date for many holidays), unless a calendar frame supplies
  them (a planned promotion, the holiday calendar): the model then sees exactly what is known
  in advance. A model trained on holiday flags and told "no holiday" for every future period
  would under-forecast every holiday it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from models.errors import DataValidationError, InvalidInputError
from models.frames import require_columns

COVARIATES = ("price", "promotion", "holiday")
SEASON = {"D": 7, "W": 52, "M": 12}
DEFAULT_STORE = "all"


def freq_family(freq: str) -> str:
    """``D``, ``W`` or ``M`` for a supported pandas frequency alias.

    Raises:
        InvalidInputError: another frequency (hourly, business days, quarterly ...).
    """
    code = str(freq).upper().split("-")[0]
    family = {"D": "D", "1D": "D", "W": "W", "MS": "M", "ME": "M", "M": "M"}.get(code)
    if family is None:
        raise InvalidInputError(
            f"freq must be daily ('D'), weekly ('W-SUN', 'W-FRI' ...) or monthly ('MS', 'ME'), got {freq!r}",
            field="freq",
            value=freq,
        )
    return family


def infer_freq(dates: pd.Series) -> str:
    """The frequency of the distinct ``dates``: ``D``, ``W-<weekday>``, ``MS`` or ``ME``.

    Raises:
        DataValidationError: fewer than three distinct dates, or no regular spacing.
    """
    unique = np.unique(dates.to_numpy().astype("datetime64[D]"))
    days = pd.DatetimeIndex(unique.astype("datetime64[ns]"))
    if len(days) < 3:
        raise DataValidationError(
            f"sales: need at least 3 distinct dates to infer the frequency, got {len(days)}",
            file="sales",
            column="date",
        )
    step = int(np.median(np.diff(unique.astype(np.int64))))
    if step == 1:
        return "D"
    if step == 7 and days.dayofweek.nunique() == 1:
        return f"W-{days[0].day_name()[:3].upper()}"
    if 28 <= step <= 31 and days.is_month_start.all():
        return "MS"
    if 28 <= step <= 31 and days.is_month_end.all():
        return "ME"
    raise DataValidationError(
        f"sales: dates are not daily, weekly or monthly (median spacing {step} days); "
        "pass freq= explicitly or aggregate the sales first",
        file="sales",
        column="date",
    )


@dataclass(frozen=True)
class Panel:
    """Dense sales: ``values`` (series, periods), NaN before each series' first row.

    Attributes:
        item_ids, store_ids: series keys, sorted; row ``n`` of every matrix is series ``n``.
        dates: the period grid (``DatetimeIndex`` at ``freq``), shared by all series.
        values: quantities; covariates: name -> (series, periods) matrix, NaN where ``values`` is.
        freq: the pandas frequency alias.
    """

    item_ids: np.ndarray
    store_ids: np.ndarray
    dates: pd.DatetimeIndex
    values: np.ndarray
    covariates: dict[str, np.ndarray]
    freq: str

    @property
    def end(self) -> pd.Timestamp:
        """The last period."""
        return self.dates[-1]

    def upto(self, cutoff: pd.Timestamp) -> Panel:
        """The panel as known at ``cutoff`` (periods after it dropped; series born later removed)."""
        keep_t = int(self.dates.searchsorted(cutoff, side="right"))
        values = self.values[:, :keep_t]
        alive = ~np.isnan(values).all(axis=1)
        return Panel(
            self.item_ids[alive],
            self.store_ids[alive],
            self.dates[:keep_t],
            values[alive],
            {k: v[alive, :keep_t] for k, v in self.covariates.items()},
            self.freq,
        )

    def long(self) -> pd.DataFrame:
        """mlforecast's layout: unique_id (row number), ds, y, covariates, item_id/store_id codes."""
        rows, cols = np.nonzero(~np.isnan(self.values))
        frame = pd.DataFrame({"unique_id": rows, "ds": self.dates[cols], "y": self.values[rows, cols]})
        for name, matrix in self.covariates.items():
            frame[name] = matrix[rows, cols]
        # Categorical keys: static features that pooled (per item, per store) statistics group by.
        frame["item_id"] = pd.Categorical(self.item_ids[rows])
        frame["store_id"] = pd.Categorical(self.store_ids[rows])
        return frame

    def rows_of(self, other: Panel) -> np.ndarray:
        """Row of each of ``other``'s series in this panel (``other`` is a subset, e.g. ``upto``)."""
        keys = pd.MultiIndex.from_arrays([self.item_ids, self.store_ids])
        return keys.get_indexer(pd.MultiIndex.from_arrays([other.item_ids, other.store_ids]))

    def future_dates(self, horizon: int) -> pd.DatetimeIndex:
        """The ``horizon`` periods after the last one."""
        return pd.date_range(self.end, periods=horizon + 1, freq=self.freq)[1:]


def build_panel(sales: pd.DataFrame, freq: str | None = None) -> Panel:
    """Densify normalised sales (item_id, store_id?, date, quantity, covariates?) into a Panel.

    Raises:
        DataValidationError: a missing or badly typed column, or dates off the frequency grid.
        InvalidInputError: an unsupported ``freq``.
    """
    check_sales(sales)
    dates = sales["date"].dt.tz_localize(None) if sales["date"].dt.tz else sales["date"]
    dates = dates.dt.normalize()
    freq = freq or infer_freq(dates)
    freq_family(freq)
    grid = pd.date_range(dates.min(), dates.max(), freq=freq)
    cols = grid.get_indexer(pd.DatetimeIndex(dates))
    if (cols < 0).any():
        bad = dates[cols < 0].iloc[0]
        raise DataValidationError(
            f"sales: date {bad.date()} is not on the {freq!r} grid starting {grid[0].date()}",
            file="sales",
            column="date",
        )
    stores = (
        sales["store_id"].astype(str)
        if "store_id" in sales.columns
        else pd.Series(DEFAULT_STORE, sales.index)
    )
    keys = pd.MultiIndex.from_arrays([sales["item_id"].astype(str), stores])
    codes, uniques = keys.factorize(sort=True)
    shape = (len(uniques), len(grid))
    values = np.zeros(shape)
    np.add.at(values, (codes, cols), np.nan_to_num(sales["quantity"].to_numpy(float)))
    first = np.full(shape[0], shape[1])
    np.minimum.at(first, codes, cols)
    before = np.arange(shape[1]) < first[:, None]
    values[before] = np.nan
    covariates = {
        name: _covariate(sales[name], codes, cols, shape, name, before)
        for name in COVARIATES
        if name in sales.columns
    }
    item_ids = np.array(uniques.get_level_values(0), dtype=str)
    store_ids = np.array(uniques.get_level_values(1), dtype=str)
    return Panel(item_ids, store_ids, grid, values, covariates, freq)


def _covariate(
    column: pd.Series,
    codes: np.ndarray,
    cols: np.ndarray,
    shape: tuple[int, int],
    name: str,
    before: np.ndarray,
) -> np.ndarray:
    matrix = np.full(shape, np.nan)
    matrix[codes, cols] = pd.to_numeric(column, errors="coerce").to_numpy(float)
    if name == "price":  # the shelf price holds until it changes
        matrix = pd.DataFrame(matrix).ffill(axis=1).bfill(axis=1).to_numpy()
    elif name == "holiday":  # a calendar fact: a date flagged anywhere is a holiday everywhere
        by_date = np.nan_to_num(np.nanmax(np.where(np.isnan(matrix), -np.inf, matrix), axis=0), neginf=0.0)
        matrix = np.where(np.isnan(matrix), by_date[None, :], matrix)
    matrix = np.nan_to_num(matrix, nan=0.0)
    matrix[before] = np.nan
    return matrix


def future_covariates(
    panel: Panel, horizon: int, calendar: pd.DataFrame | None = None
) -> pd.DataFrame | None:
    """Covariates of the ``horizon`` periods after the panel's end, one row per series and period.

    Args:
        panel: the history the forecast starts from.
        horizon: periods ahead.
        calendar: optional known-in-advance values: a ``date`` column, optional ``item_id`` /
            ``store_id`` keys, and any of ``price``, ``promotion``, ``holiday``. Rows it does not
            cover keep the defaults (last price, no promotion, no holiday).

    Returns:
        unique_id, ds and the panel's covariate columns; None when the panel has no covariates.
    """
    if not panel.covariates:
        return None
    n = len(panel.item_ids)
    dates = panel.future_dates(horizon)
    frame = pd.DataFrame({"unique_id": np.repeat(np.arange(n), horizon), "ds": np.tile(dates, n)})
    for name in panel.covariates:
        if name == "holiday":
            frame[name] = np.tile(_last_year_holidays(panel, horizon), n)
            continue
        last = _regular_price(panel) if name == "price" else np.zeros(n)
        frame[name] = np.repeat(np.nan_to_num(last), horizon)
    if calendar is not None:
        frame = _apply_calendar(frame, panel, calendar)
    return frame


def _last_year_holidays(panel: Panel, horizon: int) -> np.ndarray:
    """Weekly/monthly: the holiday flag one season (a year) before each future period; daily: 0."""
    family = freq_family(panel.freq)
    if family == "D":
        return np.zeros(horizon)
    back = len(panel.dates) + np.arange(horizon) - SEASON[family]
    flags = np.nan_to_num(panel.covariates["holiday"])
    by_date = flags.max(axis=0) if len(flags) else np.zeros(len(panel.dates))  # a calendar fact
    known = (back >= 0) & (back < len(by_date))
    return np.where(known, by_date[np.where(known, back, 0)], 0.0)


def _regular_price(panel: Panel) -> np.ndarray:
    """Each series' last price outside a promotion (a promotion price does not carry forward)."""
    price = panel.covariates["price"]
    promo = panel.covariates.get("promotion")
    if promo is None:
        return price[:, -1]
    regular = pd.DataFrame(np.where(promo > 0, np.nan, price)).ffill(axis=1).to_numpy()[:, -1]
    return np.where(np.isnan(regular), price[:, -1], regular)


def _apply_calendar(frame: pd.DataFrame, panel: Panel, calendar: pd.DataFrame) -> pd.DataFrame:
    require_columns(calendar, ("date",), name="calendar")
    known = [c for c in panel.covariates if c in calendar.columns]
    keys = [k for k in ("item_id", "store_id") if k in calendar.columns]
    frame = frame.assign(
        item_id=panel.item_ids[frame["unique_id"]], store_id=panel.store_ids[frame["unique_id"]]
    )
    cal = calendar[["date", *keys, *known]].copy()
    cal["date"] = pd.to_datetime(cal["date"]).dt.normalize()
    for key in keys:
        cal[key] = cal[key].astype(str)
    cal = cal.drop_duplicates(["date", *keys], keep="last").rename(columns={"date": "ds"})
    merged = frame.merge(cal, on=["ds", *keys], how="left", suffixes=("", "_cal"))
    for name in known:
        merged[name] = merged[f"{name}_cal"].fillna(merged[name]).astype(float)
    return merged[frame.columns.drop(["item_id", "store_id"])]


def series_scale(values: np.ndarray, season: int) -> np.ndarray:
    """Each series' typical absolute change: the scale its forecast errors are measured in.

    The in-sample seasonal naive MAE (the MASE denominator); the one-step naive MAE where a
    series is shorter than a season, its mean absolute value where that is 0 too, and 1 for an
    all-zero series. Always finite and > 0, so errors can be divided by it.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = _naive_mae(values, season)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, _naive_mae(values, 1))
        level = np.nanmean(np.abs(values), axis=1) if values.shape[1] else np.full(len(values), np.nan)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, level)
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def _naive_mae(values: np.ndarray, lag: int) -> np.ndarray:
    if values.shape[1] <= lag:
        return np.full(len(values), np.nan)
    diffs = np.abs(values[:, lag:] - values[:, :-lag])
    counts = (~np.isnan(diffs)).sum(axis=1)
    return np.where(counts > 0, np.nansum(diffs, axis=1) / np.maximum(counts, 1), np.nan)


def known_future(panel: Panel, history: Panel, horizon: int, known: list[str]) -> pd.DataFrame | None:
    """Future covariates of a calibration window: defaults, plus the actual values of ``known``."""
    if not known:
        return future_covariates(history, horizon)
    start = len(history.dates)
    rows = panel.rows_of(history)
    dates = history.future_dates(horizon)
    calendar = pd.DataFrame(
        {
            "item_id": np.repeat(history.item_ids, horizon),
            "store_id": np.repeat(history.store_ids, horizon),
            "date": np.tile(dates, len(rows)),
        }
    )
    for name in known:
        calendar[name] = panel.covariates[name][rows, start : start + horizon].ravel()
    return future_covariates(history, horizon, calendar)


def check_sales(sales: pd.DataFrame) -> None:
    """Refuse a sales frame without item_id/date/quantity, a non-datetime date or a non-numeric quantity.

    Raises:
        DataValidationError: naming the column and the dtype found.
    """
    require_columns(sales, ("item_id", "date", "quantity"), name="sales")
    if not ptypes.is_datetime64_any_dtype(sales["date"]):
        raise DataValidationError(
            f"sales: date must be a datetime64 column, got {sales['date'].dtype}", file="sales", column="date"
        )
    if not ptypes.is_numeric_dtype(sales["quantity"]) or ptypes.is_bool_dtype(sales["quantity"]):
        raise DataValidationError(
            f"sales: quantity must be numeric, got {sales['quantity'].dtype}", file="sales", column="quantity"
        )
