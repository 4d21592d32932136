"""Live catalog updates of the served search index (``admin`` scope).

The served search model is changed in place, without retraining: an added item is searchable on
the next request, a deleted one never appears again. The change lives in the serving process
until the next ``/v1/admin/reload`` or restart swaps in a retrained model.
"""

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path

from models.errors import UnknownIdError
from serving.deps import SearchDep, require_scope
from serving.schemas.catalog import CatalogBatchIn, CatalogItemIn, CatalogItemWithId, CatalogUpdateResponse
from serving.schemas.common import Id, problem_responses

router = APIRouter(
    prefix="/v1/catalog",
    tags=["catalog"],
    dependencies=[Depends(require_scope("admin"))],
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
ItemId = Annotated[Id, Path(description="The item's id.")]


def _live_model(searcher: SearchDep) -> tuple[Any, str]:
    model, version = searcher.get()
    if not hasattr(model, "upsert_items"):
        raise HTTPException(
            409,
            f"The served search model ({model.model_type}) cannot be updated live; "
            "serve a 'hybrid' search model to use the catalog endpoints.",
        )
    return model, version


def _frame(items: list[CatalogItemWithId]) -> pd.DataFrame:
    rows = []
    for item in items:
        row = item.model_dump(exclude={"attributes"})
        row.update({f"attr_{k}": v for k, v in item.attributes.items()})
        rows.append(row)
    return pd.DataFrame(rows)


@router.put("/items/{item_id}", response_model=CatalogUpdateResponse)
def put_item(item_id: ItemId, body: CatalogItemIn, searcher: SearchDep) -> CatalogUpdateResponse:
    """Add the item, or replace the item with this id."""
    model, version = _live_model(searcher)
    model.upsert_items(_frame([CatalogItemWithId(item_id=item_id, **body.model_dump())]))
    return CatalogUpdateResponse(
        upserted=1, deleted=[], n_items=len(model.state_.positions), model_version=version
    )


@router.delete("/items/{item_id}", response_model=CatalogUpdateResponse)
def delete_item(item_id: ItemId, searcher: SearchDep) -> CatalogUpdateResponse:
    """Remove the item from search for good (404 when it is not in the catalog)."""
    model, version = _live_model(searcher)
    if not model.delete_items([item_id]):
        raise UnknownIdError("item", item_id, field="item_id")
    return CatalogUpdateResponse(
        upserted=0, deleted=[item_id], n_items=len(model.state_.positions), model_version=version
    )


@router.post("/items", response_model=CatalogUpdateResponse)
def batch(body: CatalogBatchIn, searcher: SearchDep) -> CatalogUpdateResponse:
    """Upsert then delete many items in one request (one index update per side)."""
    model, version = _live_model(searcher)
    if body.upsert:
        model.upsert_items(_frame(body.upsert))
    deleted = model.delete_items(body.delete) if body.delete else []
    return CatalogUpdateResponse(
        upserted=len(body.upsert), deleted=deleted, n_items=len(model.state_.positions), model_version=version
    )
