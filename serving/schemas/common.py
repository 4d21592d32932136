"""Schemas shared by several resources: ids, problem details, item lists, model status."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

# Ids are opaque strings; the bound keeps a hostile request from making the models hash megabytes.
Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
K = Annotated[int, Field(ge=1, le=100, description="How many results to return (1-100).")]
Price = Annotated[float, Field(ge=0)]


def _to_utc(value: datetime) -> datetime:
    try:
        # Naive means UTC by the data contract; converting here spares every model the offsets.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # year 1 with a positive offset, year 9999 with a negative one
        raise ValueError(f"is out of range once converted to UTC: {value.isoformat()}") from exc


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]


class PriceRange(BaseModel):
    """Optional price bounds; a maximum below the minimum is refused, naming ``price_max``."""

    model_config = ConfigDict(extra="forbid")

    price_min: Price | None = None
    price_max: Price | None = None

    @field_validator("price_max")
    @classmethod
    def _max_not_below_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("price_min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"must be greater than or equal to price_min ({low}), got {value}")
        return value


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str | None = Field(description="Where: `body.k`, `query.k`, `path.item_id` ...")
    message: str = Field(description="What is wrong and what is allowed.")
    type: str | None = Field(default=None, description="Machine-readable error kind.")


class Problem(BaseModel):
    """RFC 9457 problem details (media type `application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


_PROBLEM_DESCRIPTIONS = {
    401: "Missing or unknown `X-API-Key`.",
    403: "The API key lacks the scope this endpoint needs.",
    404: "An id in the request is unknown to the model.",
    409: "The idempotency key (transaction id) was used before with a different request.",
    413: "The request body is larger than the server accepts.",
    422: "Invalid request; `errors` lists each field.",
    503: "The model this endpoint needs is not loaded; `detail` says how to train it.",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem answers for ``codes``."""
    # Inline schema: ``model=`` would also advertise an application/json body we never send.
    schema = _inline_refs(Problem.model_json_schema())
    return {
        code: {
            "description": _PROBLEM_DESCRIPTIONS.get(code, "Error."),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for code in codes
    }


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``#/$defs/...`` refs by their definitions: in an OpenAPI document ``#``
    means the document root, so the refs would dangle."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    return resolve(schema)


class ScoredItemOut(BaseModel):
    """A recommended item."""

    item_id: str
    score: float
    reason: str = Field(description="Why it was recommended (e.g. `popular`, `bought_together`).")


class ItemListResponse(BaseModel):
    """Recommendations, similar items, bought-together items or trending items."""

    items: list[ScoredItemOut]
    source: str = Field(description="Which strategy answered: popular, category, session, similar ...")
    model_version: str


class FamilyStatus(BaseModel):
    """One model family's load state."""

    status: Literal["loaded", "missing", "failed"]
    version: str | None = None
    reason: str | None = Field(
        default=None, description="Why it is not loaded, or a note on the last reload."
    )
    from_cache: bool = False
