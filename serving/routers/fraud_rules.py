"""Allow/block lists and rules for fraud scoring, as data (``admin`` scope).

``PUT`` replaces the whole rule set atomically and, when ``SHELFWISE_FRAUD_RULES`` names a file,
writes it there so a restart keeps it. A block-list hit declines whatever the model scores.
"""

import logging

from fastapi import APIRouter, Depends, Response

from fraud.rules import RuleSet
from serving.deps import SettingsDep, require_scope
from serving.routers.fraud import FraudRuntimeDep
from serving.schemas.common import problem_responses
from serving.schemas.fraud import FraudRules

logger = logging.getLogger("shelfwise.serving")
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
def put_fraud_rules(
    body: FraudRules, runtime: FraudRuntimeDep, settings: SettingsDep, response: Response
) -> FraudRules:
    """Replace the rule set (validated first: a bad operator or decision is a 422, nothing changes).

    Without ``SHELFWISE_FRAUD_RULES`` the rules live in this process only (lost on restart, unseen
    by other replicas), and with replicas each reads its own file: the answer then carries a
    ``Warning`` header saying so, and the log a warning.
    """
    rules = RuleSet.from_json(body.model_dump())
    runtime.set_rules(rules)
    note = None
    if not runtime.persisted:
        note = "rules held in this process's memory only: set SHELFWISE_FRAUD_RULES to a file to keep them"
    elif settings.state_url:
        note = "other replicas see these rules only if their SHELFWISE_FRAUD_RULES is this same (shared) file"
    if note:
        logger.warning("Fraud rules replaced: %s", note)
        response.headers["Warning"] = f'199 shelfwise "{note}"'
    return FraudRules.model_validate(rules.to_json())
