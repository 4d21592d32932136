"""Reorder advice schemas."""

from pydantic import BaseModel, ConfigDict, Field


class ReorderQuery(BaseModel):
    """Query parameters of ``GET /v1/inventory/{item_id}/reorder`` (unknown names are refused)."""

    model_config = ConfigDict(extra="forbid")

    lead_time: int = Field(
        ge=1, le=10_000, description="Periods until an order arrives (days for daily sales)."
    )
    store_id: str | None = Field(None, min_length=1, max_length=256, description="Omit for all stores.")
    service_level: float = Field(
        0.95, gt=0, lt=1, description="Cycle service level: probability of no stock-out."
    )
    on_hand: float = Field(0.0, ge=0, description="Inventory position (on hand + on order).")
    review_period: int = Field(1, ge=0, le=10_000, description="Periods until the next order decision.")


class ReorderResponse(BaseModel):
    """Safety stock, reorder point and order quantity for one item (and store).

    Quantities are in the sales' units; ``lead_time`` and ``review_period`` in the model's periods
    (days for daily sales). The maths is in docs/FORECASTING.md.
    """

    item_id: str
    store_id: str | None
    lead_time: int
    review_period: int
    service_level: float
    on_hand: float
    lead_time_demand: float = Field(description="Expected demand over the lead time.")
    demand_std: float = Field(description="Standard deviation of the lead-time demand.")
    safety_stock: float
    reorder_point: float = Field(description="Order when the inventory position falls to this.")
    order_up_to: float = Field(description="Target inventory position after ordering.")
    suggested_order_quantity: float
    model_version: str
