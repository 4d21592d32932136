"""Fraud scoring and feedback schemas.

A transaction carries the data contract's required columns plus whatever extra entity, numeric or
categorical fields the store's model was trained with; extras must be JSON scalars so they can
become one row of a frame.
"""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from serving.schemas.common import Id, UtcDatetime


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"must be a string, number, boolean or null, got {type(value).__name__}")


# The union documents the extras in the OpenAPI schema; the validator runs first so that a non-scalar
# gives one clear error per field instead of one per union member.
Scalar = Annotated[str | int | float | bool | None, BeforeValidator(_scalar)]


class TransactionIn(BaseModel):
    """A transaction to score; extra scalar fields are passed to the model unchanged."""

    model_config = ConfigDict(extra="allow")
    # Typing the extras validates each one, and an error names the offending field.
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)

    transaction_id: Id
    timestamp: UtcDatetime = Field(description="ISO 8601; naive means UTC.")
    customer_id: Id
    amount: float = Field(ge=0)


class FraudScoreResponse(BaseModel):
    """The model's verdict on one transaction."""

    transaction_id: str
    score: float = Field(ge=0, le=1, description="Fraud probability.")
    decision: str = Field(description="approve, review or decline.")
    reasons: list[str]
    model_version: str


class FraudFeedbackIn(BaseModel):
    """The true label of a scored transaction (chargeback, manual review ...)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)

    transaction_id: Id
    is_fraud: bool
