"""Demand forecasts for planners (``planner`` scope)."""

from fastapi import APIRouter, Depends
from starlette.responses import Response

from models.errors import InvalidInputError
from serving.deps import ForecastDep, require_scope
from serving.responses import json_response
from serving.schemas.common import problem_responses
from serving.schemas.forecast import ForecastRequest, ForecastResponse

router = APIRouter(
    prefix="/v1",
    tags=["forecast"],
    dependencies=[Depends(require_scope("planner"))],
    responses=problem_responses(401, 403, 422, 503),
)


@router.post("/forecast", response_model=ForecastResponse, responses=problem_responses(404))
async def forecast(body: ForecastRequest, forecaster: ForecastDep) -> Response:
    """Mean and interval for one item (and store) over ``horizon`` periods: a precomputed lookup."""
    model, version = forecaster.get()
    max_horizon = int(model.max_horizon)
    if body.horizon > max_horizon:
        raise InvalidInputError(
            f"horizon must be between 1 and {max_horizon} (this model's max_horizon), got {body.horizon}",
            field="horizon",
            value=body.horizon,
        )
    points = model.forecast(body.item_id, store_id=body.store_id, horizon=body.horizon)
    return json_response(
        {
            "item_id": body.item_id,
            "store_id": body.store_id,
            "points": [{"date": p.date, "mean": p.mean, "lower": p.lower, "upper": p.upper} for p in points],
            "model_version": version,
        }
    )
