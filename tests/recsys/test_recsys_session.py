"""One session context for training and serving: the same events give the same typed context,
and a cart weighs online what it weighs in training."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from recsys.interactions import DEFAULT_EVENT_WEIGHTS
from recsys.profiles import ProfileRow, merge_online
from recsys.session import MAX_SESSION_EVENTS, event_weights_of, session_context, sessions_of
from serving.online.state import Event, InMemoryOnlineState

START = datetime(2026, 11, 1, tzinfo=UTC)
KINDS = ("view", "add_to_cart", "purchase", "view", "view", "add_to_cart")


def _events(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "user_id": ["u1"] * n,
            "item_id": [f"i{int(k)}" for k in rng.integers(0, 9, n)],
            "event_type": [KINDS[k % len(KINDS)] for k in range(n)],
            "timestamp": [START + timedelta(minutes=int(m)) for m in rng.permutation(n)],
        }
    )


def test_training_and_serving_build_the_same_session_from_the_same_events() -> None:
    frame = _events()
    state = InMemoryOnlineState()
    state.add_events(
        [Event(r.user_id, r.item_id, r.event_type, timestamp=r.timestamp) for r in frame.itertuples()]
    )
    served = session_context(state.user_events("u1"))
    trained = sessions_of(frame.assign(timestamp=frame["timestamp"].dt.tz_localize(None)), ["u1"])["u1"]
    assert served == trained
    assert len(served) == MAX_SESSION_EVENTS and {k for _, k in served} == {"view", "add_to_cart"}
    newest = frame.sort_values("timestamp", ascending=False)
    newest = newest[newest["event_type"] != "purchase"]
    assert served[0] == (newest["item_id"].iloc[0], newest["event_type"].iloc[0])


def test_a_cart_weighs_online_what_it_weighs_in_training() -> None:
    weights = event_weights_of(["add_to_cart", "view", "add_to_cart"], 3, DEFAULT_EVENT_WEIGHTS)
    assert weights == [3.0, 1.0, 3.0]
    empty = ProfileRow(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool))
    # newest first: item 7 carted then viewed item 4, item 7 carted before that
    row = merge_online(empty, session=[7, 4, 7], purchased=[], session_weight=weights, purchase_weight=5.0)
    assert dict(zip(row.items.tolist(), row.weights.tolist(), strict=True)) == {7: 6.0, 4: 1.0}
    assert row.items.tolist() == [4, 7]  # the newest event's item last
    assert event_weights_of(None, 2, DEFAULT_EVENT_WEIGHTS) == [1.0, 1.0]  # request items are views
