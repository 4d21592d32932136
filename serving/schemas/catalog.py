"""Live catalog update schemas (``PUT``/``DELETE /v1/catalog/items``)."""

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas.common import Id, Price


class CatalogItemIn(BaseModel):
    """One item as the storefront sends it; the same fields as a catalog file row."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=1000)
    description: str = Field(default="", max_length=20_000)
    category: str = Field(min_length=1, max_length=512, description="Category path, `A > B > C`.")
    brand: str = Field(min_length=1, max_length=256)
    price: Price
    in_stock: bool = True
    popularity: float | None = Field(default=None, ge=0, description="Optional popularity signal.")
    attributes: dict[str, str] = Field(
        default_factory=dict, max_length=50, description="Extra text such as colour or material."
    )


class CatalogItemWithId(CatalogItemIn):
    """An item in a batch upsert."""

    item_id: Id


class CatalogBatchIn(BaseModel):
    """Items to add or replace, and item ids to delete, applied in that order."""

    model_config = ConfigDict(extra="forbid")

    upsert: list[CatalogItemWithId] = Field(default_factory=list, max_length=1000)
    delete: list[Id] = Field(default_factory=list, max_length=1000)


class CatalogUpdateResponse(BaseModel):
    """What changed in the served search index."""

    upserted: int = Field(description="Items added or replaced.")
    deleted: list[str] = Field(description="Ids removed (ids that were not in the catalog are left out).")
    n_items: int = Field(description="Live items in the served index after the update.")
    model_version: str
