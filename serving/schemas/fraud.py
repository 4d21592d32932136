"""Fraud scoring and feedback schemas.

A transaction carries the data contract's required columns plus whatever extra entity, numeric or
categorical fields the store's model was trained with; extras must be JSON scalars so they can
become one row of a frame.
"""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from fraud.checks import CURRENCIES
from serving.schemas.common import Id, UtcDatetime

MAX_EXTRAS = 50  # extra fields per transaction or label
MAX_EXTRA_TEXT = 1000  # characters per extra string: labels are stored, and storefront keys are public
MAX_SAFE_INT = 2**53  # the largest integer every JSON reader and a float64 feature keep exactly


def _scalar(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        raise ValueError(f"integers must be between -{MAX_SAFE_INT} and {MAX_SAFE_INT}")
    if isinstance(value, str) and len(value) > MAX_EXTRA_TEXT:
        raise ValueError(f"strings must be at most {MAX_EXTRA_TEXT} characters, got {len(value)}")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"must be a string, number, boolean or null, got {type(value).__name__}")


# The union documents the extras in the OpenAPI schema; the validator runs first so that a non-scalar
# gives one clear error per field instead of one per union member.
Scalar = Annotated[str | int | float | bool | None, BeforeValidator(_scalar)]


class _Extras(BaseModel):
    """Extra scalar fields, at most ``MAX_EXTRAS`` of them (each typed: an error names the field)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)

    @model_validator(mode="after")
    def _few_extras(self) -> "_Extras":
        if len(self.model_extra or {}) > MAX_EXTRAS:
            raise ValueError(f"at most {MAX_EXTRAS} extra fields, got {len(self.model_extra or {})}")
        return self


class TransactionIn(_Extras):
    """A transaction to score; extra scalar fields are passed to the model unchanged."""

    transaction_id: Id
    timestamp: UtcDatetime = Field(description="ISO 8601; naive means UTC.")
    customer_id: Id
    amount: float = Field(ge=0, allow_inf_nan=False, description="At most SHELFWISE_MAX_AMOUNT.")
    currency: str | None = Field(
        default=None,
        max_length=8,
        description="ISO 4217 code (e.g. EUR); an unknown code is refused with a 422.",
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        # The same list the model checks (fraud.checks), so every fraud model refuses the same codes.
        if value is not None and value.upper() not in CURRENCIES:
            raise ValueError(f"unknown ISO 4217 currency code {value!r}; e.g. EUR, USD, GBP")
        return value


class FraudScoreResponse(BaseModel):
    """The model's verdict on one transaction."""

    transaction_id: str
    score: float = Field(ge=0, le=1, description="Fraud probability.")
    decision: str = Field(description="approve, review or decline.")
    reasons: list[str]
    rule: str | None = Field(
        default=None,
        description="The allow/block list or rule that decided (e.g. block:customer_id); null: the model.",
    )
    model_version: str


class FraudFeedbackIn(_Extras):
    """The true label of a scored transaction (chargeback, manual review ...)."""

    transaction_id: Id
    is_fraud: bool


Text = Annotated[str, StringConstraints(max_length=256)]
RuleScalar = Text | int | float | bool | None
MAX_LIST = 100_000  # values per allow/block list


class FraudRule(BaseModel):
    """``field op value`` decides ``decision`` before the model (first match wins)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    field: str = Field(min_length=1, max_length=100)
    op: Literal[">", ">=", "<", "<=", "==", "!=", "in", "not in"]
    value: RuleScalar | Annotated[list[RuleScalar], Field(max_length=1000)]
    decision: Literal["approve", "review", "decline"]


class FraudRules(BaseModel):
    """Allow/block lists per field (customer_id, device_id, email ...) and ordered rules."""

    model_config = ConfigDict(extra="forbid")

    block: dict[Text, Annotated[list[Text], Field(max_length=MAX_LIST)]] = Field(
        default_factory=dict, max_length=50, description="A hit declines."
    )
    allow: dict[Text, Annotated[list[Text], Field(max_length=MAX_LIST)]] = Field(
        default_factory=dict, max_length=50, description="A hit approves (block wins)."
    )
    rules: list[FraudRule] = Field(default_factory=list, max_length=200)


class TransactionFieldOut(BaseModel):
    """One field of a transaction that the served model reads."""

    name: str
    kind: Literal["id", "timestamp", "number", "category", "entity", "datetime"] = Field(
        description="`entity`: an id whose history gives velocity features; `datetime`: read as its "
        "age at the transaction; `category`: one of `values` (another value is read as missing)."
    )
    required: bool
    values: list[str] = Field(description="The categories seen in training (for `category`).")


class TransactionFieldsResponse(BaseModel):
    """What to send to ``POST /v1/fraud/score`` for the served model, required fields first."""

    fields: list[TransactionFieldOut]
    model_version: str
