"""Allow/block lists and rules for fraud scoring, as data (``admin`` scope).

``PUT`` replaces the whole rule set atomically and, when ``SHELFWISE_FRAUD_RULES`` names a file,
writes it there so a restart keeps it. A block-list hit declines whatever the model scores.
"""

from fastapi import APIRouter, Depends

from fraud.rules import RuleSet
from serving.deps import require_scope
from serving.routers.fraud import FraudRuntimeDep
from serving.schemas.common import problem_responses
from serving.schemas.fraud import FraudRules

router = APIRouter(
    prefix="/v1/admin/fraud-rules",
    tags=["admin"],
    dependencies=[Depends(require_scope("admin"))],
    responses=problem_responses(401, 403),
)


@router.get("", response_model=FraudRules)
def get_fraud_rules(runtime: FraudRuntimeDep) -> FraudRules:
    """The rule set in force."""
    return FraudRules.model_validate(runtime.rules.to_json())


@router.put("", response_model=FraudRules, responses=problem_responses(422))
def put_fraud_rules(body: FraudRules, runtime: FraudRuntimeDep) -> FraudRules:
    """Replace the rule set (validated first: a bad operator or decision is a 422, nothing changes)."""
    rules = RuleSet.from_json(body.model_dump())
    runtime.set_rules(rules)
    return FraudRules.model_validate(rules.to_json())
