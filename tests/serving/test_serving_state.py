"""InMemoryOnlineState: ordering, bounds and thread safety."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from serving.online.state import Event, InMemoryOnlineState, OnlineState

T0 = datetime(2024, 4, 1, tzinfo=UTC)


def _event(user: str, item: str, kind: str = "view", minutes: int = 0) -> Event:
    return Event(user, item, kind, T0 + timedelta(minutes=minutes))


def test_history_is_most_recent_first_unique_and_split_by_type() -> None:
    state = InMemoryOnlineState()
    state.add_events(
        [
            _event("u", "a", "view", 1),
            _event("u", "b", "add_to_cart", 3),
            _event("u", "a", "view", 5),
            _event("u", "c", "purchase", 2),
            _event("u", "d", "view", 4),
        ]
    )
    assert state.user_history("u") == (["c"], ["a", "d", "b"])
    assert isinstance(state, OnlineState)


def test_naive_and_aware_timestamps_compare_as_utc() -> None:
    state = InMemoryOnlineState()
    state.add_events([Event("u", "old", "view", datetime(2024, 4, 1, 0, 0)), _event("u", "new", "view", 1)])
    assert state.user_history("u")[1] == ["new", "old"]


def test_memory_is_bounded_per_user_and_in_users() -> None:
    state = InMemoryOnlineState(max_events_per_user=3, max_users=2)
    state.add_events([_event("u1", f"i{n}", minutes=n) for n in range(5)])
    assert state.user_history("u1")[1] == ["i4", "i3", "i2"]
    state.add_events([_event("u2", "x"), _event("u3", "y")])
    assert state.user_history("u1") == ([], [])  # least recently active user dropped
    assert state.user_history("u3") == ([], ["y"])


def test_concurrent_writers_lose_nothing() -> None:
    state = InMemoryOnlineState(max_events_per_user=10_000)

    def write(n: int) -> None:
        for i in range(200):
            state.add_events([_event("u", f"{n}-{i}", minutes=i)])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.user_history("u")[1]) == 1600
