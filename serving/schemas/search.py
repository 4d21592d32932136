"""Search and suggest schemas."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from serving.schemas.common import Id, K, PriceRange


class SearchFilters(PriceRange):
    """Restrict matches; facets are still counted over every match."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=512, description="Category path prefix, `A > B`.")
    brand: str | None = Field(default=None, max_length=256)
    in_stock_only: bool = False


class SearchRequest(BaseModel):
    """A catalog search."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1, max_length=200, description="Free text with at least one non-blank character."
    )
    k: K = 10
    filters: SearchFilters = Field(default_factory=SearchFilters)
    user_id: Id | None = Field(
        default=None,
        description="Shopper id: a mild boost toward their categories and brands (hybrid model).",
    )

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain a non-blank character")
        return value


class SearchHitOut(BaseModel):
    """One matching item."""

    item_id: str
    title: str
    score: float
    price: float | None = Field(default=None, description="null: the catalog gave no price.")
    in_stock: bool = True


class SearchResponse(BaseModel):
    """Ranked results plus facet counts over all matches."""

    results: list[SearchHitOut]
    facets: dict[str, dict[str, int]] = Field(description="`{facet: {value: count}}`, e.g. category, brand.")
    total: int = Field(description="Matches before `k` was applied.")
    corrected_query: str | None = Field(
        default=None, description='The spelling-corrected query searched instead ("did you mean"), or null.'
    )
    model_version: str


class SuggestResponse(BaseModel):
    """Query completions for a prefix."""

    suggestions: list[str]
    model_version: str
