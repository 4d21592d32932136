"""Storefront events feeding the online state (``storefront`` scope)."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, status

from models.errors import InvalidInputError
from serving.deps import SettingsDep, StateDep, StoreDep, require_scope
from serving.metrics import record_events
from serving.online.state import Event
from serving.schemas.common import problem_responses
from serving.schemas.events import Accepted, EventBatch

router = APIRouter(
    prefix="/v1",
    tags=["events"],
    dependencies=[Depends(require_scope("storefront"))],
    responses=problem_responses(401, 403, 413, 422),
)


@router.post("/events", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
def post_events(batch: EventBatch, settings: SettingsDep, state: StateDep, store: StoreDep) -> Accepted:
    """Record views, carts and purchases; the next recommendation for the user reflects them."""
    if len(batch.events) > settings.max_batch:
        raise InvalidInputError(
            f"at most {settings.max_batch} events per request (SHELFWISE_MAX_BATCH), got {len(batch.events)}",
            field="events",
        )
    latest = datetime.now(UTC) + timedelta(seconds=settings.max_clock_skew_s)
    for n, e in enumerate(batch.events):
        if e.timestamp > latest:
            raise InvalidInputError(
                f"timestamp {e.timestamp.isoformat()} is in the future (more than "
                f"{settings.max_clock_skew_s:g} s after the server's clock, SHELFWISE_MAX_CLOCK_SKEW_S); "
                "send the time the event happened, or omit it for now",
                field=f"events.{n}.timestamp",
                value=e.timestamp.isoformat(),
            )
    events = [
        Event(
            user_id=e.user_id,
            item_id=e.item_id,
            event_type=e.event_type,
            timestamp=e.timestamp,
            session_id=e.session_id,
            order_id=e.order_id,
            quantity=e.quantity,
        )
        for e in batch.events
    ]
    state.add_events(events)
    record_events(e.event_type for e in events)
    entry = store.entries().get("recsys")
    return Accepted(accepted=len(events), model_version=entry.version if entry else None)
