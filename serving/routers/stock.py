"""Stock levels for the recommendation model (``admin`` scope): ``POST /v1/inventory``.

The served model's stock flags change in place, so the very next recommendation, similar-items
or bought-together answer leaves out items that went out of stock (and brings back restocked
ones). The change is recorded in the online state and applied again to a model loaded later
(hot swap, restart) when it is newer than that model's data (``serving.catalog_changes``).
"""

from datetime import UTC, datetime

from fastapi import APIRouter, Depends

from serving.deps import RecsysDep, StateDep, require_scope
from serving.online.state import CatalogChange
from serving.schemas.common import problem_responses
from serving.schemas.stock import StockUpdate, StockUpdateResponse

router = APIRouter(
    prefix="/v1",
    tags=["inventory"],
    dependencies=[Depends(require_scope("admin"))],
    responses=problem_responses(401, 403, 422, 503),
)


@router.post("/inventory", response_model=StockUpdateResponse)
def update_stock(body: StockUpdate, recsys: RecsysDep, state: StateDep) -> StockUpdateResponse:
    """Set in-stock flags from stock levels (``stock > 0``) on the served recommendation model."""
    levels = {entry.item_id: entry.stock > 0 for entry in body.items}  # the last entry per item wins
    model, version = recsys.get()
    unknown = model.set_stock(list(levels), list(levels.values()))
    # Recorded for models loaded later (hot swap, restart); the known items' flags only.
    missing = set(unknown)
    known = {item: flag for item, flag in levels.items() if item not in missing}
    if known:
        state.add_catalog_change(CatalogChange("stock", {"in_stock": known}, datetime.now(UTC)))
    return StockUpdateResponse(
        updated=len(levels) - len(unknown), unknown_item_ids=unknown, model_version=version
    )
