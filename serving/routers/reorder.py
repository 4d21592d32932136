"""Reorder advice for planners (``planner`` scope), from the served demand forecast."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from forecasting.inventory import advise
from serving.deps import ForecastDep, require_scope
from serving.responses import json_response
from serving.schemas.common import Id, problem_responses
from serving.schemas.inventory import ReorderQuery, ReorderResponse

router = APIRouter(
    prefix="/v1/inventory",
    tags=["inventory"],
    dependencies=[Depends(require_scope("planner"))],
    responses=problem_responses(401, 403, 404, 422, 503),
)


@router.get("/{item_id}/reorder", response_model=ReorderResponse)
async def reorder(
    forecaster: ForecastDep,
    item_id: Annotated[Id, Path(description="The item.")],
    query: Annotated[ReorderQuery, Query()],
) -> Response:
    """Safety stock, reorder point and suggested order quantity over the lead time."""
    model, version = forecaster.get()
    advice = advise(
        model,
        item_id,
        store_id=query.store_id,
        lead_time=query.lead_time,
        service_level=query.service_level,
        on_hand=query.on_hand,
        review_period=query.review_period,
    )
    return json_response(
        {
            "item_id": item_id,
            "store_id": query.store_id,
            "lead_time": advice.lead_time,
            "review_period": advice.review_period,
            "service_level": advice.service_level,
            "on_hand": advice.on_hand,
            "lead_time_demand": advice.lead_time_demand,
            "demand_std": advice.demand_std,
            "safety_stock": advice.safety_stock,
            "reorder_point": advice.reorder_point,
            "order_up_to": advice.order_up_to,
            "suggested_order_quantity": advice.suggested_order_quantity,
            "model_version": version,
        }
    )
