"""Reorder advice schemas."""

from pydantic import BaseModel, Field


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
