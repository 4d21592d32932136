"""Request schemas of the recommendation endpoints (responses: ``common.ItemListResponse``)."""

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas.common import Id, K, PriceRange


class ItemFilters(PriceRange):
    """Which items may be recommended."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=512, description="Category path prefix, `A > B`.")
    in_stock_only: bool = True


class RecommendationRequest(BaseModel):
    """Ask for recommendations for a user and/or a browsing session."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id | None = Field(default=None, description="Known user: their events personalise the answer.")
    session_item_ids: list[Id] = Field(
        default_factory=list, max_length=50, description="Items seen now, newest first."
    )
    k: K = 10
    filters: ItemFilters = Field(default_factory=ItemFilters)
    exclude_item_ids: list[Id] = Field(default_factory=list, max_length=500)
