"""Recommendations, item pages (similar, bought together) and trending (``storefront`` scope).

``async def`` routes on purpose: a model call is a millisecond or less of CPU work that holds the
GIL, so FastAPI's thread pool would add a thread hop per request (~0.1 ms of CPU) and no
parallelism. ``trending`` stays plain ``def`` (a cold, cacheable page), and slow routes elsewhere
(catalog upserts, search's FAISS scan) too.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from recsys.session import REQUEST_EVENT_TYPE, session_context
from recsys.types import ItemFilter, Recommendations
from serving.deps import RecsysDep, StateDep, require_scope
from serving.metrics import record_recommendation_source
from serving.online.state import split_history
from serving.responses import json_response
from serving.schemas.common import ItemListResponse, problem_responses
from serving.schemas.recommendations import ItemFilters, RecommendationRequest

router = APIRouter(
    prefix="/v1",
    tags=["recommendations"],
    dependencies=[Depends(require_scope("storefront"))],
    responses=problem_responses(401, 403, 422, 503),
)

KQuery = Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")]
ItemPath = Annotated[str, Path(min_length=1, max_length=256, description="Catalog item id.")]


def _item_filter(filters: ItemFilters) -> ItemFilter:
    return ItemFilter(
        category=filters.category,
        in_stock_only=filters.in_stock_only,
        price_min=filters.price_min,
        price_max=filters.price_max,
    )


def _response(recs: Recommendations, version: str) -> Response:
    """``ItemListResponse``'s shape, encoded with orjson (``serving.responses``: no re-validation)."""
    record_recommendation_source(recs.source)
    items = [{"item_id": i.item_id, "score": i.score, "reason": i.reason} for i in recs.items]
    return json_response({"items": items, "source": recs.source, "model_version": version})


@router.post("/recommendations", response_model=ItemListResponse)
async def recommend(body: RecommendationRequest, recsys: RecsysDep, state: StateDep) -> Response:
    """Items for a shopper: their purchases are excluded, their recent views and carts give context
    (and are not recommended back unless ``recommend_viewed``)."""
    online: list[tuple[str, str]] = []
    if body.user_id:  # one read of the user's log; a network read (Redis) runs off the event loop
        read = state.user_events
        online = await run_in_threadpool(read, body.user_id) if state.reads_block else read(body.user_id)
    purchased, _ = split_history(online)
    # The request's items are being looked at now (views), then the user's recent views and carts:
    # one definition of the session with training (recsys.session), carts weighed as carts.
    session = session_context([*((i, REQUEST_EVENT_TYPE) for i in body.session_item_ids), *online])
    model, version = recsys.get()
    recs = model.recommend(
        user_id=body.user_id,
        history_item_ids=purchased,
        session_item_ids=[item for item, _ in session],
        session_event_types=[kind for _, kind in session],
        k=body.k,
        filters=_item_filter(body.filters),
        exclude_item_ids=body.exclude_item_ids,
        recommend_viewed=body.recommend_viewed,
        max_per_category=body.max_per_category,
        max_per_brand=body.max_per_brand,
        consumable_categories=body.consumable_categories,
    )
    return _response(recs, version)


@router.get("/items/{item_id}/similar", response_model=ItemListResponse, responses=problem_responses(404))
async def similar_items(item_id: ItemPath, recsys: RecsysDep, k: KQuery = 10) -> Response:
    """Items like this one (same category first), in stock."""
    model, version = recsys.get()
    return _response(model.similar_items(item_id, k=k, filters=ItemFilter()), version)


@router.get(
    "/items/{item_id}/bought-together", response_model=ItemListResponse, responses=problem_responses(404)
)
async def bought_together(
    item_id: ItemPath, recsys: RecsysDep, k: KQuery = 10, in_stock_only: bool = True
) -> Response:
    """Items often bought in the same order as this one."""
    model, version = recsys.get()
    return _response(
        model.bought_together(item_id, k=k, filters=ItemFilter(in_stock_only=in_stock_only)), version
    )


@router.get("/trending", response_model=ItemListResponse)
def trending(
    recsys: RecsysDep,
    k: KQuery = 10,
    category: Annotated[str | None, Query(max_length=512, description="Category path prefix.")] = None,
) -> Response:
    """Items gaining popularity, optionally under a category."""
    model, version = recsys.get()
    return _response(model.trending(k=k, category=category), version)
