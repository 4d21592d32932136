"""Plain values the fraud family returns to its callers (serving maps them to JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field

APPROVE = "approve"
REVIEW = "review"
DECLINE = "decline"
DECISIONS = (APPROVE, REVIEW, DECLINE)


@dataclass(frozen=True)
class FraudScore:
    """The risk of one transaction.

    Attributes:
        score: estimated probability that the transaction is fraudulent, in [0, 1].
        decision: ``approve``, ``review`` (send to a human analyst) or ``decline``.
        reasons: up to three short strings naming the features that raised the score most,
            e.g. ``"amount=912.50 raises risk"``; empty when no feature raised it.
        rule: the allow/block list or rule that decided (``block:customer_id``), None when the
            model's thresholds decided.
        replayed: True when this is the stored answer to an earlier request with the same
            ``transaction_id`` and the same body (an idempotent retry): nothing was counted again.
    """

    score: float
    decision: str
    reasons: list[str] = field(default_factory=list)
    rule: str | None = None
    replayed: bool = False  # the stored answer of an earlier request with the same id and body


@dataclass(frozen=True)
class TransactionField:
    """One field of a transaction the model reads (what a checkout form or integration sends).

    Attributes:
        name: the field's name in the request body.
        kind: ``id`` (a key: transaction or customer), ``timestamp``, ``number``, ``category``
            (one of ``values``; an unseen value is read as missing), ``entity`` (an id whose
            history gives velocity features) or ``datetime`` (read as its age at the transaction).
        required: the request is refused without it.
        values: the categories seen in training, for ``category``.
    """

    name: str
    kind: str
    required: bool = False
    values: tuple[str, ...] = ()
