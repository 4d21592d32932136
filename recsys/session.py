"""A shopper's session context: the one definition that training and serving both use.

The session is what a shopper viewed or carted most recently, newest first, with each event's
type: a cart weighs what it weighs in training (``recsys.interactions.DEFAULT_EVENT_WEIGHTS``:
a cart 3x a view), never flattened into views. Serving builds it from the online state and the
request (``serving/routers/recommendations.py``), the training job from the events before each
evaluated shopper's holdout (``training/jobs/recsys_split.py``); both call ``session_context``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

SESSION_EVENT_TYPES = ("view", "add_to_cart")
MAX_SESSION_EVENTS = 20
REQUEST_EVENT_TYPE = "view"  # items a request names as being looked at now


def session_context(
    events: Iterable[tuple[str, str]], *, limit: int = MAX_SESSION_EVENTS
) -> list[tuple[str, str]]:
    """The newest ``limit`` view and cart events of ``events`` (newest first) as (item, type)."""
    out: list[tuple[str, str]] = []
    for item, kind in events:
        if kind in SESSION_EVENT_TYPES:
            out.append((str(item), str(kind)))
            if len(out) == limit:
                break
    return out


def sessions_of(events: pd.DataFrame, users: Sequence[str], *, limit: int = MAX_SESSION_EVENTS) -> dict:
    """``session_context`` of each of ``users`` from a frame of their events (any order)."""
    mine = events[events["user_id"].isin(users) & events["event_type"].isin(SESSION_EVENT_TYPES)]
    newest = mine.sort_values("timestamp", ascending=False, kind="stable")
    grouped = newest.groupby("user_id", sort=False)[["item_id", "event_type"]]
    return {
        str(user): session_context(zip(part["item_id"], part["event_type"], strict=True), limit=limit)
        for user, part in grouped
    }


def event_weights_of(types: Sequence[str] | None, n: int, weights: Mapping[str, float]) -> list[float]:
    """The weight of each of ``n`` session events (``types`` None: all views)."""
    kinds = [REQUEST_EVENT_TYPE] * n if types is None else list(types)
    return [float(weights.get(kind, weights.get(REQUEST_EVENT_TYPE, 1.0))) for kind in kinds]
