"""Fraud scoring at checkout and label feedback (``checkout`` scope)."""

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, status

from serving.deps import FraudDep, StateDep, StoreDep, require_scope
from serving.schemas.common import problem_responses
from serving.schemas.events import Accepted
from serving.schemas.fraud import FraudFeedbackIn, FraudScoreResponse, TransactionIn
from serving.state import FraudFeedback

router = APIRouter(
    prefix="/v1/fraud",
    tags=["fraud"],
    dependencies=[Depends(require_scope("checkout"))],
    responses=problem_responses(401, 403, 422),
)


@router.post("/score", response_model=FraudScoreResponse, responses=problem_responses(503))
def score_transaction(body: TransactionIn, fraud: FraudDep) -> FraudScoreResponse:
    """Fraud probability, approve/review/decline and the features that raised the risk."""
    # model_dump includes the extra fields: the model reads whichever columns it was trained on.
    model, version = fraud.get()
    result = model.score(body.model_dump())
    return FraudScoreResponse(
        transaction_id=body.transaction_id,
        score=result.score,
        decision=result.decision,
        reasons=list(result.reasons),
        model_version=version,
    )


@router.post("/feedback", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
def fraud_feedback(body: FraudFeedbackIn, state: StateDep, store: StoreDep) -> Accepted:
    """Store the true label of a transaction for the next training run."""
    extra = dict(body.model_extra or {})
    state.add_fraud_feedback(
        FraudFeedback(body.transaction_id, body.is_fraud, received_at=datetime.now(UTC), extra=extra)
    )
    entry = store.entries().get("fraud")
    return Accepted(accepted=1, model_version=entry.version if entry else None)
