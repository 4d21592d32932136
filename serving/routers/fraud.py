"""Fraud scoring at checkout and label feedback (``checkout`` scope)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from starlette.concurrency import run_in_threadpool

from models.errors import InvalidInputError
from serving.deps import FraudDep, SettingsDep, StateDep, StoreDep, require_scope
from serving.fraud_runtime import FraudRuntime
from serving.metrics import record_fraud_decision
from serving.online.state import FraudFeedback
from serving.responses import json_response
from serving.schemas.common import problem_responses
from serving.schemas.events import Accepted
from serving.schemas.fraud import (
    FraudFeedbackIn,
    FraudScoreResponse,
    TransactionFieldOut,
    TransactionFieldsResponse,
    TransactionIn,
)


async def get_fraud_runtime(request: Request) -> FraudRuntime:
    """The app's fraud state and rules (``serving.app.create_app`` puts them on ``app.state``)."""
    return request.app.state.fraud


FraudRuntimeDep = Annotated[FraudRuntime, Depends(get_fraud_runtime)]

router = APIRouter(
    prefix="/v1/fraud",
    tags=["fraud"],
    dependencies=[Depends(require_scope("checkout"))],
    responses=problem_responses(401, 403, 422),
)


@router.post("/score", response_model=FraudScoreResponse, responses=problem_responses(409, 503))
async def score_transaction(
    body: TransactionIn, fraud: FraudDep, runtime: FraudRuntimeDep, settings: SettingsDep
) -> Response:
    """Fraud probability, approve/review/decline, the reasons and the rule that decided, if any.

    A model with velocity features reads the entity histories of the online state, then records
    the transaction there. The same ``transaction_id`` with the same body returns the stored
    answer (header ``Idempotent-Replayed: true``); with a different body it is a 409 naming the
    fields that differ.
    ``async`` on purpose: scoring is under a millisecond of GIL-bound work, and the thread pool
    would add a hop (~0.1 ms of CPU) without adding parallelism (see docs/ARCHITECTURE.md).
    """
    if body.amount > settings.max_amount:
        raise InvalidInputError(
            f"amount {body.amount:.6g} is above the largest amount accepted, {settings.max_amount:.6g} "
            "(SHELFWISE_MAX_AMOUNT)",
            field="amount",
            value=body.amount,
        )
    # model_dump includes the extra fields: the model reads whichever columns it was trained on.
    model, version = fraud.get()
    payload = body.model_dump()
    # The allow/block lists and rules decide before any model's thresholds.
    rules = runtime.rules
    if not model.uses_online_state:
        result = model.score(payload, rules=rules)
    elif runtime.state.writes_block:  # a journal commit or a Redis round trip: off the event loop
        result = await run_in_threadpool(model.score, payload, state=runtime.state, rules=rules)
    else:
        result = model.score(payload, state=runtime.state, rules=rules)
    replayed = getattr(result, "replayed", False)
    if not replayed:
        record_fraud_decision(result.decision)
    response = json_response(  # FraudScoreResponse's shape, encoded with orjson (serving.responses)
        {
            "transaction_id": body.transaction_id,
            "score": result.score,
            "decision": result.decision,
            "reasons": list(result.reasons),
            "rule": getattr(result, "rule", None),
            "model_version": version,
        }
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.get("/fields", response_model=TransactionFieldsResponse, responses=problem_responses(503))
async def transaction_fields(fraud: FraudDep) -> TransactionFieldsResponse:
    """The transaction fields the served model reads, with the categories it knows: what a
    checkout integration (or the console's form) should send. Other scalar fields are accepted
    and ignored."""
    model, version = fraud.get()
    fields = [TransactionFieldOut(**{**vars(f), "values": list(f.values)}) for f in model.input_fields()]
    return TransactionFieldsResponse(fields=fields, model_version=version)


@router.post("/feedback", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
def fraud_feedback(
    body: FraudFeedbackIn, state: StateDep, store: StoreDep, runtime: FraudRuntimeDep
) -> Accepted:
    """Store the true label of a transaction for the next training run and for entity risk.

    Entity fraud rates read the label only for transactions dated at least the model's label
    delay before the transaction being scored, as in training.
    """
    extra = dict(body.model_extra or {})
    state.add_fraud_feedback(
        FraudFeedback(body.transaction_id, body.is_fraud, received_at=datetime.now(UTC), extra=extra)
    )
    runtime.state.label(body.transaction_id, body.is_fraud)
    entry = store.entries().get("fraud")
    return Accepted(accepted=1, model_version=entry.version if entry else None)
