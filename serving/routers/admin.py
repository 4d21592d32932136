"""Operator endpoints (``admin`` scope)."""

from fastapi import APIRouter, Depends

from serving.deps import StoreDep, require_scope
from serving.model_store import ModelStore
from serving.schemas.admin import ReloadResponse
from serving.schemas.common import FamilyStatus, problem_responses

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_scope("admin"))],
    responses=problem_responses(401, 403),
)


def family_statuses(store: ModelStore) -> dict[str, FamilyStatus]:
    """Each family's status, version and reason, from one consistent snapshot."""
    return {
        family: FamilyStatus(status=e.status, version=e.version, reason=e.reason, from_cache=e.from_cache)
        for family, e in store.entries().items()
    }


@router.post("/reload", response_model=ReloadResponse)
def reload_models(store: StoreDep) -> ReloadResponse:
    """Check the registry now and swap in each family whose alias moved; failures keep the old model.

    Families whose alias still points to the served version are left alone; a version refused
    before is tried again. A plain ``def``: loading blocks (registry downloads), so it runs in
    the thread pool.
    """
    outcomes: dict[str, str] = dict(store.refresh(force=True))
    return ReloadResponse(families=family_statuses(store), outcomes=outcomes)
