"""Catalog item details (``GET /v1/items``)."""

from pydantic import BaseModel, Field


class CatalogItemOut(BaseModel):
    """What the served search index knows of one item."""

    item_id: str
    title: str
    category: str = Field(description="Category path, `A > B > C`.")
    brand: str
    price: float | None = Field(description="null: the catalog gave no price.")
    in_stock: bool


class ItemsResponse(BaseModel):
    """The items asked for, in the order asked; ids the catalog does not know are listed apart."""

    items: list[CatalogItemOut]
    unknown_item_ids: list[str]
    model_version: str
