"""Operator endpoints (``admin`` scope)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path

from models.errors import ModelUnavailableError, UnknownIdError
from models.settings import Settings
from serving.deps import StoreDep, require_scope
from serving.model_store import ModelStore
from serving.schemas.admin import (
    FamilyModels,
    ModelsResponse,
    ModelVersionOut,
    PromoteRequest,
    PromoteResponse,
    ReloadResponse,
)
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


Family = Annotated[Literal["recsys", "search", "fraud", "forecasting"], Path(description="The model family.")]


def _registry(store: ModelStore) -> Settings:
    if store.registry is None:
        raise HTTPException(
            409,
            "This server serves model directories (SHELFWISE_MODEL_DIRS), not the MLflow registry: "
            "there are no versions to list or promote.",
        )
    return store.registry


@router.get("/models", response_model=ModelsResponse, responses=problem_responses(409))
def registered_models(store: StoreDep) -> ModelsResponse:
    """Each served family's registered versions, newest first, with aliases and metrics (what
    ``shelfwise models`` prints). Plain ``def``: the registry is a database or a server."""
    from models.registry import list_models

    rows = list_models(_registry(store))
    entries = store.entries()
    families = {f: FamilyModels(served_version=entries[f].version, versions=[]) for f in store.families}
    for row in rows:
        if row["family"] in families:
            families[row["family"]].versions.append(
                ModelVersionOut(**{k: v for k, v in row.items() if k != "family"})
            )
    return ModelsResponse(families=families)


@router.post(
    "/models/{family}/promote", response_model=PromoteResponse, responses=problem_responses(404, 409, 422)
)
def promote_version(family: Family, body: PromoteRequest, store: StoreDep) -> PromoteResponse:
    """Make ``version`` the family's champion (an older version rolls back) and swap it in here.

    Other replicas pick the change up at their next registry poll (``SHELFWISE_RELOAD_INTERVAL_S``)
    or on ``POST /v1/admin/reload``.
    """
    from models.registry import promote

    settings = _registry(store)
    try:
        promote(settings, family, body.version)
    except ModelUnavailableError as exc:
        raise UnknownIdError(
            "version",
            body.version,
            field="version",
            detail=f"No version {body.version} of {family} is registered",
        ) from exc
    outcomes = store.refresh(force=True)
    return PromoteResponse(
        family=family,
        version=body.version,
        outcome=outcomes.get(family, "unchanged"),
        families=family_statuses(store),
    )
