"""Catalog item details for product pages and item lists (``storefront`` scope): ``GET /v1/items``.

Recommendation answers carry ids and scores only; a storefront (or the console) that has no
product database of its own reads titles, prices and stock here, from the served search index,
which includes live catalog updates (``/v1/catalog``).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from serving.deps import SearchDep, require_scope
from serving.schemas.common import problem_responses
from serving.schemas.items import CatalogItemOut, ItemsResponse

MAX_IDS = 100
router = APIRouter(
    prefix="/v1",
    tags=["items"],
    dependencies=[Depends(require_scope("storefront"))],
    responses=problem_responses(401, 403, 422, 503),
)


@router.get("/items", response_model=ItemsResponse)
async def items(
    searcher: SearchDep,
    ids: Annotated[
        list[Annotated[str, Query(min_length=1, max_length=256)]],
        Query(min_length=1, max_length=MAX_IDS, description=f"Item ids (1-{MAX_IDS}): `?ids=a&ids=b`."),
    ],
) -> ItemsResponse:
    """Title, category, brand, price and stock of each item, in the order asked."""
    model, version = searcher.get()
    found = model.items(ids)
    known = {item.item_id for item in found}
    return ItemsResponse(
        items=[CatalogItemOut(**vars(item)) for item in found],
        unknown_item_ids=[i for i in dict.fromkeys(ids) if i not in known],
        model_version=version,
    )
