"""Schemas of the stock update endpoint (``POST /v1/inventory``)."""

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas.common import Id


class StockLevel(BaseModel):
    """The units on hand of one item; 0 means out of stock."""

    model_config = ConfigDict(extra="forbid")

    item_id: Id
    stock: int = Field(ge=0, description="Units available; 0 takes the item out of recommendations.")


class StockUpdate(BaseModel):
    """A batch of stock levels; later entries for the same item win."""

    model_config = ConfigDict(extra="forbid")

    items: list[StockLevel] = Field(min_length=1, max_length=10_000)


class StockUpdateResponse(BaseModel):
    """What the served recommendation model applied."""

    updated: int = Field(description="Items whose stock flag was set.")
    unknown_item_ids: list[str] = Field(description="Ids the served model does not know (ignored).")
    model_version: str
