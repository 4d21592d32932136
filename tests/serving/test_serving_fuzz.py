"""Requests generated from the OpenAPI schema: the API answers as documented and never with a 500.

Schemathesis' pytest plugin does not run under pytest 9 here, so its strategies are driven with
Hypothesis directly, one test per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from redis_support import REDIS_URL, fresh_namespace, redis_or_skip
from schemathesis.checks import positive_data_acceptance
from serving_support import make_settings

from fraud.checks import CURRENCIES
from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.eventlog import DurableOnlineState

pytestmark = pytest.mark.slow

OPERATIONS = [
    (path, method.upper())
    for path, methods in create_app(make_settings()).openapi()["paths"].items()
    for method in methods
]


def _beyond_the_schema(case: schemathesis.Case) -> bool:
    """Rules a static schema cannot state: a horizon (or reorder lead time) over the loaded model's
    max, a blank query, price_max below price_min, a timestamp whose UTC conversion leaves years
    1..9999, a currency that is not a known ISO 4217 code, a transaction or event dated in the future."""
    if case.path in ("/v1/forecast", "/v1/inventory/{item_id}/reorder"):
        return True
    body: Any = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("query"), str) and not body["query"].strip():
        return True
    filters = body.get("filters") if isinstance(body.get("filters"), dict) else {}
    low, high = filters.get("price_min"), filters.get("price_max")
    if low is not None and high is not None and high < low:
        return True
    if "currency" in body and str(body["currency"]).upper() not in CURRENCIES:
        return True
    stamp = body.get("timestamp")
    if case.path == "/v1/fraud/score" and isinstance(stamp, str) and _future(stamp):
        return True
    events = body.get("events") if isinstance(body.get("events"), list) else []
    event_stamps = [e.get("timestamp") for e in events if isinstance(e, dict)]
    if case.path == "/v1/events" and any(isinstance(t, str) and _future(t) for t in event_stamps):
        return True  # beyond SHELFWISE_MAX_CLOCK_SKEW_S: a 422
    stamps = [body.get("timestamp"), *event_stamps]
    return any(isinstance(t, str) and not _utc_ok(t) for t in stamps)


def _future(text: str) -> bool:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return False
    return when > datetime.now(UTC)


def _utc_ok(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except OverflowError:
        return False
    except ValueError:
        return True  # not a datetime at all: the schema already calls it invalid
    return True


# The operations that read or write the online state, fuzzed again against the stores a server
# really runs on: the durable SQLite logs (the `shelfwise serve` default) and Redis (replicas).
STATEFUL = [
    (path, method)
    for path, method in OPERATIONS
    if path in ("/v1/events", "/v1/fraud/score", "/v1/fraud/feedback", "/v1/recommendations", "/v1/search")
]
CASES = [(p, m, "memory") for p, m in OPERATIONS] + [
    (p, m, mode) for mode in ("sqlite", "redis") for p, m in STATEFUL
]


@pytest.fixture()
def state_for(tmp_path: Path) -> Iterator[Callable[[str], dict[str, Any]]]:
    """``state_for(mode)``: the ``create_app`` arguments of one deployment mode's online state."""
    opened: list[Any] = []

    def make(mode: str) -> dict[str, Any]:
        if mode == "sqlite":
            state = DurableOnlineState(tmp_path / "events.db")
            opened.append(state)
            return {"online_state": state, "fraud_state_dir": tmp_path / "fraud"}
        if mode == "redis":
            client = redis_or_skip()
            namespace = next(spaces := fresh_namespace(client))
            opened.append(spaces)
            return {"settings": make_settings(state_url=f"{REDIS_URL}?namespace={namespace}")}
        return {}

    yield make
    for thing in opened:
        if isinstance(thing, DurableOnlineState):
            thing.close()
        else:
            next(thing, None)  # the namespace's keys are deleted


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[f"{m} {p} [{d}]" for p, m, d in CASES])
def test_generated_requests_conform_and_never_fail(
    loaded_store: ModelStore, state_for: Callable[[str], dict[str, Any]], path: str, method: str, mode: str
) -> None:
    kwargs = state_for(mode)
    app = create_app(kwargs.pop("settings", make_settings()), model_store=loaded_store, **kwargs)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]

    # A reload loads every model again (~1.7 s) and the request has no body to vary: a few suffice.
    examples = 3 if path == "/v1/admin/reload" else 25

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        excluded = [positive_data_acceptance] if _beyond_the_schema(case) else []
        case.call_and_validate(
            headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}, excluded_checks=excluded
        )

    check()
