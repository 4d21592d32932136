"""Catalog search and query suggestions (``storefront`` scope)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from search.interface import Searcher
from search.types import SearchFilters as DomainSearchFilters
from serving.deps import SearchCacheDep, SearchDep, StateDep, require_scope
from serving.responses import JSON, json_response
from serving.schemas.common import problem_responses
from serving.schemas.search import SearchRequest, SearchResponse, SuggestResponse

MAX_HISTORY = 50  # recent items that shape a shopper's taste; older ones say little
router = APIRouter(
    prefix="/v1/search",
    tags=["search"],
    dependencies=[Depends(require_scope("storefront"))],
    responses=problem_responses(401, 403, 422, 503),
)


@router.post("", response_model=SearchResponse)
async def search(
    body: SearchRequest, searcher: SearchDep, online: StateDep, cache: SearchCacheDep
) -> Response:
    """Ranked matches for a query, with facet counts over every filtered match.

    With ``user_id`` a hybrid model mildly boosts the shopper's categories and brands, read from
    the recommendation online state (their recent views/carts, then purchases).
    ``async`` so that a repeated question is answered from the answer cache
    (``serving.search_cache``) without a thread-pool hop; a new one is searched in the pool.
    """
    model, version = searcher.get()
    filters = DomainSearchFilters(**body.filters.model_dump())
    history: list[str] = []
    if body.user_id:
        read, user = online.user_history, body.user_id
        purchased, recent = await run_in_threadpool(read, user) if online.reads_block else read(user)
        history = (recent + purchased)[:MAX_HISTORY]
    key = cache.key(version, model.catalog_version, body.query, body.k, filters, history)
    if cache.enabled and (stored := cache.get(key)) is not None:
        return Response(stored, media_type=JSON)
    response = await run_in_threadpool(_answer, model, version, body, filters, history)
    if cache.enabled:
        cache.put(key, bytes(response.body))
    return response


def _answer(
    model: Searcher, version: str, body: SearchRequest, filters: DomainSearchFilters, history: list[str]
) -> Response:
    result = model.search(body.query, k=body.k, filters=filters, history=history)
    return json_response(  # SearchResponse's shape, encoded with orjson (serving.responses)
        {
            "results": [
                {
                    "item_id": h.item_id,
                    "title": h.title,
                    "score": h.score,
                    "price": h.price,
                    "in_stock": h.in_stock,
                }
                for h in result.hits
            ],
            "facets": result.facets,
            "total": result.total,
            "corrected_query": getattr(result, "corrected_query", None),
            "model_version": version,
        }
    )


@router.get("/suggest", response_model=SuggestResponse)
async def suggest(  # async: a prefix lookup takes microseconds, less than a thread-pool hop
    searcher: SearchDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="What the shopper typed so far.")],
    k: Annotated[int, Query(ge=1, le=50, description="How many suggestions (1-50).")] = 10,
) -> SuggestResponse:
    """Completions of a partly typed query."""
    model, version = searcher.get()
    return SuggestResponse(suggestions=model.suggest(q, k=k), model_version=version)
