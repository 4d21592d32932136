"""Demand forecasts for planners (``planner`` scope)."""

from fastapi import APIRouter, Depends
from starlette.responses import Response

from forecasting.types import ForecastPoint, SalesPoint
from models.errors import InvalidInputError, UnknownIdError
from serving.deps import ForecastDep, StoreDep, require_scope
from serving.model_store import ModelStore
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
async def forecast(body: ForecastRequest, forecaster: ForecastDep, store: StoreDep) -> Response:
    """Mean and interval for one item (and store) over ``horizon`` periods: a precomputed lookup.

    A catalog item that never sold has no series: a 404 that says so, or, with
    ``when_no_history: zero``, a forecast of zeros flagged ``basis: no_sales_history``.
    """
    model, version = forecaster.get()
    max_horizon = int(model.max_horizon)
    if body.horizon > max_horizon:
        raise InvalidInputError(
            f"horizon must be between 1 and {max_horizon} (this model's max_horizon), got {body.horizon}",
            field="horizon",
            value=body.horizon,
        )
    basis = "model"
    if not model.has_series(body.item_id) and _in_catalog(store, body.item_id):  # sold nowhere
        if body.when_no_history == "error":
            raise UnknownIdError(
                "series",
                body.item_id,
                field="item_id",
                detail=f"Item {body.item_id!r} is in the catalog but has no sales history, so there "
                'is no forecast for it; send "when_no_history": "zero" for a forecast of zeros flagged '
                "as such",
            )
        basis = "no_sales_history"
        points = [ForecastPoint(d, 0.0, 0.0, 0.0) for d in model.future_dates(body.horizon)]
        history: list[SalesPoint] = []
    else:
        points = model.forecast(body.item_id, store_id=body.store_id, horizon=body.horizon)
        history = model.recent_sales(body.item_id, store_id=body.store_id) if body.history else []
    return json_response(
        {
            "item_id": body.item_id,
            "store_id": body.store_id,
            "points": [{"date": p.date, "mean": p.mean, "lower": p.lower, "upper": p.upper} for p in points],
            "history": [{"date": p.date, "quantity": p.quantity} for p in history],
            "basis": basis,
            "model_version": version,
        }
    )


def _in_catalog(store: ModelStore, item_id: str) -> bool:
    """Whether a loaded catalog model (recommendations or search) knows the item."""
    entries = store.entries()
    for family in ("recsys", "search"):
        entry = entries.get(family)
        # Both catalog families' interfaces have has_item (recsys.interface, search.interface).
        if entry is not None and entry.model is not None and entry.model.has_item(item_id):
            return True
    return False
