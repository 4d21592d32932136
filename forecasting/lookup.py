"""Lookups in precomputed forecasts: what ``GlobalForecaster`` serves (no model runs at query time).

The fitted model holds, per (item, store) series, ``max_horizon`` periods of mean/lower/upper
(``mean_``, ``lower_``, ``upper_``: (series, max_horizon)) on the dates ``dates_``. A query slices
those arrays; an item asked for without a store sums the rows of its stores.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd

from forecasting.types import ForecastPoint, SalesPoint
from models.artifact import check_is_fitted
from models.errors import InvalidInputError, UnknownIdError


class PrecomputedLookup:
    """``forecast``, ``predict`` and ``has_series`` over precomputed (series, max_horizon) arrays."""

    max_horizon: int
    item_ids_: np.ndarray
    store_ids_: np.ndarray
    dates_: np.ndarray  # datetime64[D], (max_horizon,)
    mean_: np.ndarray  # (series, max_horizon)
    lower_: np.ndarray
    upper_: np.ndarray
    recent_dates_: np.ndarray  # with ``recent_`` (series, periods): sales before ``dates_``

    # ------------------------------------------------------------------ query
    def forecast(
        self, item_id: str, *, store_id: str | None = None, horizon: int = 14
    ) -> list[ForecastPoint]:
        """The precomputed forecast of one series for the next ``horizon`` periods.

        With ``store_id=None`` an item sold in several stores gives their total: summed means
        and, conservatively (exact if the stores' errors move together), summed bounds.

        Raises:
            NotFittedError: before ``fit``/``load``.
            InvalidInputError: ``horizon`` not in 1..``max_horizon``, or an id that is not a string.
            UnknownIdError: the item, or the item in that store, was never seen.
        """
        check_is_fitted(self, ("mean_",))
        steps = self._check_horizon(horizon)
        rows = self._series_rows(item_id, store_id)
        # One series (the usual request) is a slice; an item's total sums the rows of its stores.
        one = rows[0] if len(rows) == 1 else None
        mean, lower, upper = (
            (part[one, :steps] if one is not None else part[rows, :steps].sum(axis=0)).tolist()
            for part in (self.mean_, self.lower_, self.upper_)
        )
        return [ForecastPoint(*point) for point in zip(self._dates[:steps], mean, lower, upper, strict=True)]

    def predict(self, horizon: int) -> pd.DataFrame:
        """Every series' forecast: item_id, store_id, date, mean, lower, upper (``horizon`` rows each)."""
        check_is_fitted(self, ("mean_",))
        steps = self._check_horizon(horizon)
        n = len(self.item_ids_)
        return pd.DataFrame(
            {
                "item_id": np.repeat(self.item_ids_.astype(object), steps),
                "store_id": np.repeat(self.store_ids_.astype(object), steps),
                "date": np.tile(self.dates_[:steps], n).astype("datetime64[ns]"),
                "mean": self.mean_[:, :steps].ravel(),
                "lower": self.lower_[:, :steps].ravel(),
                "upper": self.upper_[:, :steps].ravel(),
            }
        )

    def recent_sales(self, item_id: str, *, store_id: str | None = None) -> list[SalesPoint]:
        """The actual sales of the last periods before the forecast starts (up to ``max_horizon``
        of them), summed over the item's stores when ``store_id`` is None; ``[]`` for a model
        saved without them.

        Raises:
            InvalidInputError, UnknownIdError: as ``forecast``.
        """
        check_is_fitted(self, ("mean_",))
        rows = self._series_rows(item_id, store_id)
        recent = getattr(self, "recent_", None)
        return [] if recent is None else sales_points(recent, self.recent_dates_, rows)

    def future_dates(self, horizon: int) -> list[datetime.date]:
        """The dates of the next ``horizon`` periods (what every series' forecast covers)."""
        check_is_fitted(self, ("mean_",))
        return self._dates[: self._check_horizon(horizon)]

    def has_series(self, item_id: str, store_id: str | None = None) -> bool:
        """Whether ``forecast(item_id, store_id=store_id)`` would find a series."""
        check_is_fitted(self, ("mean_",))
        return item_id in self._item_rows if store_id is None else (item_id, store_id) in self._rows

    def _check_horizon(self, horizon: Any) -> int:
        ok = isinstance(horizon, int | np.integer) and not isinstance(horizon, bool)
        if not ok or not 1 <= horizon <= self.max_horizon:
            raise InvalidInputError(
                f"horizon must be an integer between 1 and {self.max_horizon} (the precomputed "
                f"max_horizon), got {horizon!r}",
                field="horizon",
                value=horizon,
            )
        return int(horizon)

    def _series_rows(self, item_id: Any, store_id: Any) -> list[int]:
        return series_rows(self._item_rows, self._rows, item_id, store_id)

    def _build_index(self) -> None:
        pairs = zip(self.item_ids_.tolist(), self.store_ids_.tolist(), strict=True)
        self._rows = {pair: n for n, pair in enumerate(pairs)}
        self._item_rows: dict[str, list[int]] = {}
        for n, item in enumerate(self.item_ids_.tolist()):
            self._item_rows.setdefault(item, []).append(n)
        self._dates: list[datetime.date] = [d.item() for d in self.dates_]


def series_rows(
    item_rows: dict[str, list[int]], rows: dict[tuple[str, str], int], item_id: Any, store_id: Any
) -> list[int]:
    """The rows of one item's series (all its stores, or the one ``store_id`` names).

    Raises:
        InvalidInputError: an id is not a string.
        UnknownIdError: the item, or the store for this item, is unknown.
    """
    for name, value in (("item_id", item_id), ("store_id", store_id)):
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a string, got {value!r}", field=name, value=value)
    found = item_rows.get(item_id) if isinstance(item_id, str) else None
    if found is None:
        raise UnknownIdError("item", item_id, field="item_id")
    if store_id is None:
        return found
    row = rows.get((item_id, store_id))
    if row is None:
        raise UnknownIdError("store for this item", store_id, field="store_id")
    return [row]


def sales_points(values: np.ndarray, dates: np.ndarray, rows: list[int]) -> list[SalesPoint]:
    """Per date, the sum of ``values`` (series, periods) over ``rows``; None where all are NaN."""
    part = values[rows].astype(np.float64)
    known = np.atleast_1d(~np.isnan(part).all(axis=0))
    totals = np.nansum(part, axis=0)
    return [
        SalesPoint(d.item(), float(t) if ok else None)
        for d, t, ok in zip(dates.astype("datetime64[D]"), totals, known, strict=True)
    ]
