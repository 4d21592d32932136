"""``Forecaster``: what serving may ask a demand forecasting model, whichever one is champion.

The global model (``forecasting.global_model.GlobalForecaster``) and its baseline
(``forecasting.naive.SeasonalNaiveForecaster``) both satisfy it (``models.families`` has mypy
check it); reorder advice (``forecasting.inventory.advise``) needs nothing else.
"""

from __future__ import annotations

import datetime
from typing import Protocol

from forecasting.types import ForecastPoint, SalesPoint


class Forecaster(Protocol):
    """Forecasts with intervals per item (and store), plus the recent sales they continue."""

    max_horizon: int  # the longest horizon ``forecast`` accepts, in periods
    level: float  # the central interval's coverage (0.9: the 5 % and 95 % bounds)

    def forecast(
        self, item_id: str, *, store_id: str | None = None, horizon: int = 14
    ) -> list[ForecastPoint]:
        """The next ``horizon`` periods of one series (all its stores summed without ``store_id``)."""
        ...

    def future_dates(self, horizon: int) -> list[datetime.date]:
        """The dates of the next ``horizon`` periods."""
        ...

    def has_series(self, item_id: str, store_id: str | None = None) -> bool:
        """Whether the model forecasts this item (in this store)."""
        ...

    def recent_sales(self, item_id: str, *, store_id: str | None = None) -> list[SalesPoint]:
        """The actual sales of the last periods before the forecast starts."""
        ...
