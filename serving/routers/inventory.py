"""Reorder advice for planners (``planner`` scope), from the served demand forecast."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from forecasting.inventory import advise
from serving.deps import ForecastDep, require_scope
from serving.schemas.common import Id, problem_responses
from serving.schemas.inventory import ReorderResponse

router = APIRouter(
    prefix="/v1/inventory",
    tags=["inventory"],
    dependencies=[Depends(require_scope("planner"))],
    responses=problem_responses(401, 403, 404, 422, 503),
)


@router.get("/{item_id}/reorder", response_model=ReorderResponse)
def reorder(
    forecaster: ForecastDep,
    item_id: Annotated[Id, Path(description="The item.")],
    lead_time: Annotated[
        int, Query(ge=1, description="Periods until an order arrives (days for daily sales).")
    ],
    store_id: Annotated[
        str | None, Query(min_length=1, max_length=256, description="Omit for all stores.")
    ] = None,
    service_level: Annotated[
        float, Query(gt=0, lt=1, description="Cycle service level: probability of no stock-out.")
    ] = 0.95,
    on_hand: Annotated[float, Query(ge=0, description="Inventory position (on hand + on order).")] = 0.0,
    review_period: Annotated[int, Query(ge=0, description="Periods until the next order decision.")] = 1,
) -> ReorderResponse:
    """Safety stock, reorder point and suggested order quantity over the lead time."""
    model, version = forecaster.get()
    advice = advise(
        model,
        item_id,
        store_id=store_id,
        lead_time=lead_time,
        service_level=service_level,
        on_hand=on_hand,
        review_period=review_period,
    )
    return ReorderResponse(
        item_id=item_id,
        store_id=store_id,
        lead_time=advice.lead_time,
        review_period=advice.review_period,
        service_level=advice.service_level,
        on_hand=advice.on_hand,
        lead_time_demand=advice.lead_time_demand,
        demand_std=advice.demand_std,
        safety_stock=advice.safety_stock,
        reorder_point=advice.reorder_point,
        order_up_to=advice.order_up_to,
        suggested_order_quantity=advice.suggested_order_quantity,
        model_version=version,
    )
