"""Storefront event schemas."""

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas.common import Id, UtcDatetime

MAX_QUANTITY = 1_000_000  # units in one event; also keeps every value inside SQLite's 64-bit integers


class EventIn(BaseModel):
    """One interaction, in the ``events`` data-contract shape."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id
    item_id: Id
    event_type: Literal["view", "add_to_cart", "purchase"]
    timestamp: UtcDatetime = Field(
        default_factory=lambda: datetime.now(UTC), description="ISO 8601; naive means UTC; default: now."
    )
    session_id: Id | None = None
    order_id: Id | None = None
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, description=f"1 to {MAX_QUANTITY:,}.")


class EventBatch(BaseModel):
    """Events to record; at most ``SHELFWISE_MAX_BATCH`` per request."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1)


class Accepted(BaseModel):
    """How many records were accepted (202: stored, models see them on the next request)."""

    accepted: int
    model_version: str | None = Field(
        default=None, description="Version of the model the records are about, if it is loaded."
    )
