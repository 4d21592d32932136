"""The recommendations route builds the session as training does (``recsys.session``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from serving_support import make_settings

from recsys.types import Recommendations
from serving.app import create_app
from serving.model_store import ModelEntry, ModelStore
from serving.online.state import Event, InMemoryOnlineState

START = datetime(2026, 11, 1, tzinfo=UTC)


class SpyRecommender:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def recommend(self, **kwargs: Any) -> Recommendations:
        self.calls.append(kwargs)
        return Recommendations([], "popular")


def test_the_route_hands_the_model_typed_session_events_request_items_first() -> None:
    spy = SpyRecommender()
    store = ModelStore.from_dirs({}, families=["recsys"])
    store.swap(ModelEntry("recsys", "loaded", model=spy, version="spy-1"))
    state = InMemoryOnlineState()
    state.add_events(
        [
            Event("u1", "pan", "view", timestamp=START),
            Event("u1", "pot", "add_to_cart", timestamp=START + timedelta(minutes=1)),
            Event("u1", "book", "purchase", timestamp=START + timedelta(minutes=2)),
        ]
    )
    app = create_app(make_settings(), model_store=store, online_state=state)
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as client:
        assert client.post(
            "/v1/recommendations", json={"user_id": "u1", "session_item_ids": ["lid"]}
        ).is_success
    call = spy.calls[-1]
    assert call["session_item_ids"] == ["lid", "pot", "pan"]
    assert call["session_event_types"] == ["view", "add_to_cart", "view"]
    assert call["history_item_ids"] == ["book"]
