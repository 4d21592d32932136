"""Idempotent scoring, as payment APIs do it: a transaction id names one request body.

Scoring the same ``transaction_id`` again with the same body replays the stored answer (a retry
after a timeout must not count the transaction twice, nor change its answer). The same id with a
different body is a conflict, not a retry: it raises :class:`~models.errors.ConflictError`
naming the fields that differ, so a client bug that reuses ids is seen instead of silently
getting another transaction's answer.

A stored answer keeps a short hash per field of the body it answered (``request``), not the
values: the state stays small and holds no card or e-mail in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from fraud.types import FraudScore
from models.errors import ConflictError

ID_FIELD = "transaction_id"


def request_fingerprint(tx: Mapping[str, Any]) -> dict[str, str]:
    """Per field of the body (but the id), an 8-hex-digit hash of its value."""
    return {
        str(name): hashlib.blake2b(repr(value).encode(), digest_size=4).hexdigest()
        for name, value in tx.items()
        if name != ID_FIELD and value is not None
    }


def replay(tx_id: str, stored: Mapping[str, Any], body: Mapping[str, str]) -> FraudScore:
    """The stored answer for a retry of the same body.

    Raises:
        ConflictError: the body differs from the one the stored answer was given for (an
            answer stored before bodies were recorded has nothing to compare and is replayed).
    """
    before = stored.get("request")
    if before is not None and dict(before) != dict(body):
        differing = sorted(k for k in set(before) | set(body) if before.get(k) != body.get(k))
        raise ConflictError(
            f"transaction_id {tx_id!r} was already scored with a different request: "
            f"{', '.join(differing)} differ. Reuse an id only to retry the same request; "
            "a new transaction needs a new id",
            field=ID_FIELD,
            value=tx_id,
            differing=differing,
        )
    answer = {k: v for k, v in stored.items() if k in ("score", "decision", "reasons", "rule")}
    return FraudScore(**answer, replayed=True)
