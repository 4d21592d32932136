"""Live catalog updates of the served search index (``admin`` scope).

The served search model is changed in place, without retraining: an added item is searchable on
the next request, a deleted one never appears again. Each change is recorded in the online state
first (the durable log, or Redis shared by replicas) and applied again to a model loaded later
(hot swap, restart) when it is newer than that model's data (``serving.catalog_changes``).
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path

from models.errors import UnknownIdError
from search.interface import LiveCatalog
from serving.catalog_changes import apply
from serving.deps import SearchDep, StateDep, require_scope
from serving.online.state import CatalogChange, OnlineState
from serving.schemas.catalog import CatalogBatchIn, CatalogItemIn, CatalogItemWithId, CatalogUpdateResponse
from serving.schemas.common import Id, problem_responses

router = APIRouter(
    prefix="/v1/catalog",
    tags=["catalog"],
    dependencies=[Depends(require_scope("admin"))],
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
ItemId = Annotated[Id, Path(description="The item's id.")]


def _live_model(searcher: SearchDep) -> tuple[LiveCatalog, str]:
    model, version = searcher.get()
    if not isinstance(model, LiveCatalog):
        raise HTTPException(
            409,
            f"The served search model ({type(model).__name__}) cannot be updated live; "
            "serve a 'hybrid' search model to use the catalog endpoints.",
        )
    return model, version


def _record(state: OnlineState, kind: str, payload: dict[str, Any]) -> CatalogChange:
    """Record the change (so later models get it too) before it is applied here."""
    change = CatalogChange(kind, payload, datetime.now(UTC))
    state.add_catalog_change(change)
    return change


@router.put("/items/{item_id}", response_model=CatalogUpdateResponse)
def put_item(
    item_id: ItemId, body: CatalogItemIn, searcher: SearchDep, state: StateDep
) -> CatalogUpdateResponse:
    """Add the item, or replace the item with this id."""
    model, version = _live_model(searcher)
    row = CatalogItemWithId(item_id=item_id, **body.model_dump()).model_dump()
    apply(model, _record(state, "upsert", {"items": [row]}))
    return CatalogUpdateResponse(upserted=1, deleted=[], n_items=model.n_items, model_version=version)


@router.delete("/items/{item_id}", response_model=CatalogUpdateResponse)
def delete_item(item_id: ItemId, searcher: SearchDep, state: StateDep) -> CatalogUpdateResponse:
    """Remove the item from search for good (404 when it is not in the catalog)."""
    model, version = _live_model(searcher)
    if not model.has_item(item_id):
        raise UnknownIdError("item", item_id, field="item_id")
    apply(model, _record(state, "delete", {"item_ids": [item_id]}))
    return CatalogUpdateResponse(upserted=0, deleted=[item_id], n_items=model.n_items, model_version=version)


@router.post("/items", response_model=CatalogUpdateResponse)
def batch(body: CatalogBatchIn, searcher: SearchDep, state: StateDep) -> CatalogUpdateResponse:
    """Upsert then delete many items in one request (one index update per side)."""
    model, version = _live_model(searcher)
    if body.upsert:
        apply(model, _record(state, "upsert", {"items": [item.model_dump() for item in body.upsert]}))
    deleted = [i for i in dict.fromkeys(body.delete) if model.has_item(i)]
    if deleted:
        apply(model, _record(state, "delete", {"item_ids": deleted}))
    return CatalogUpdateResponse(
        upserted=len(body.upsert), deleted=deleted, n_items=model.n_items, model_version=version
    )
