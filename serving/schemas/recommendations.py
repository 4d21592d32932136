"""Request schemas of the recommendation endpoints (responses: ``common.ItemListResponse``)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from serving.schemas.common import Id, K, PriceRange

CategoryPath = Annotated[str, StringConstraints(min_length=1, max_length=512)]


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
    recommend_viewed: bool = Field(
        default=False,
        description="Allow the session's items (sent here or recently viewed/carted) in the answer. "
        "Off by default: what the shopper is looking at is context, not a recommendation.",
    )
    max_per_category: int | None = Field(
        default=None, ge=1, le=100, description="Diversity cap: most items per leaf category (hybrid model)."
    )
    max_per_brand: int | None = Field(
        default=None, ge=1, le=100, description="Diversity cap: most items per brand (hybrid model)."
    )
    consumable_categories: list[CategoryPath] | None = Field(
        default=None,
        max_length=100,
        description="Category prefixes whose purchased items may be recommended again (hybrid model); "
        "omit for the model's default.",
    )
