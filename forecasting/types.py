"""Plain values the forecasting family returns to its callers (serving maps them to JSON)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class ForecastPoint:
    """The forecast of one day.

    Attributes:
        date: the day forecast.
        mean: point forecast of the quantity sold that day.
        lower: lower bound of the prediction interval (the model's ``level``, e.g. 90 %).
        upper: upper bound of the prediction interval.
    """

    date: datetime.date
    mean: float
    lower: float
    upper: float


@dataclass(frozen=True)
class SalesPoint:
    """The quantity sold in one period (``None``: the series had not started yet)."""

    date: datetime.date
    quantity: float | None
