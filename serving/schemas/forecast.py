"""Demand forecast schemas."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas.common import Id


class ForecastRequest(BaseModel):
    """Forecast one series; ``horizon`` is capped by the model (``max_horizon``)."""

    model_config = ConfigDict(extra="forbid")

    item_id: Id
    store_id: Id | None = Field(default=None, description="Omit for the all-stores series.")
    horizon: int = Field(
        default=14, ge=1, description="Periods ahead (days for daily sales), 1 to the model's max_horizon."
    )
    when_no_history: Literal["error", "zero"] = Field(
        default="error",
        description="For a catalog item without sales history: `error` (404 saying so) or `zero` "
        "(a forecast of zeros, flagged `basis: no_sales_history`).",
    )
    history: bool = Field(
        default=False,
        description="Also return the actual sales of the periods just before the forecast (up to "
        "the model's max_horizon of them), to draw beside it.",
    )


class SalesPointOut(BaseModel):
    """The actual quantity sold in one past period (null: the series had not started)."""

    date: dt.date
    quantity: float | None


class ForecastPointOut(BaseModel):
    """One period's forecast with its prediction interval (the model's level, e.g. 80 %)."""

    date: dt.date
    mean: float
    lower: float
    upper: float


class ForecastResponse(BaseModel):
    """Forecast points, one per period."""

    item_id: str
    store_id: str | None
    points: list[ForecastPointOut]
    history: list[SalesPointOut] = Field(
        default_factory=list, description="Recent actual sales, oldest first (with `history: true`)."
    )
    basis: Literal["model", "no_sales_history"] = Field(
        default="model", description="`no_sales_history`: zeros for a catalog item that never sold."
    )
    model_version: str
