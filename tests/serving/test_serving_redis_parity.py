"""Parity: one stream through the in-process states and the Redis ones gives equal answers.

Events: equal ``user_history`` for every user (out-of-order times, ties, the per-user cap).
Fraud: equal ``fraud.velocity.online_vector`` features for every transaction, computed as the
server does (features read before the transaction is recorded), with late labels, rescored ids,
retention pruning and answer expiry all exercised; then equal histories, answers and counts.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import redis
from redis_support import fresh_namespace, redis_or_skip

from fraud.online_state import EntityHistory, InProcessFraudState
from fraud.redis_state import RedisFraudState
from fraud.velocity import DAY, HOUR, VelocityConfig, online_vector
from serving.online.redis_state import RedisOnlineState
from serving.online.state import EVENT_TYPES, Event, InMemoryOnlineState

CONFIG = VelocityConfig(
    entities=("customer_id", "terminal_id", "device_id"),
    windows=(HOUR, DAY, 7 * DAY),
    risk_windows=(3 * DAY, 10 * DAY),
    label_delay=2 * DAY,
    pairs=(("customer_id", "device_id"), ("customer_id", "terminal_id")),
)
RETENTION = 15 * DAY  # > CONFIG.horizon (12 d), < the 40-day stream: pruning and expiry happen


@pytest.fixture()
def client() -> redis.Redis:
    return redis_or_skip()


@pytest.fixture()
def namespace(client: redis.Redis) -> Iterator[str]:
    yield from fresh_namespace(client)


def test_user_history_matches_in_memory(client: redis.Redis, namespace: str) -> None:
    rng = np.random.default_rng(1)
    memory = InMemoryOnlineState(max_events_per_user=20)
    shared = RedisOnlineState(client, namespace=namespace, max_events_per_user=20)
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    events = [
        Event(
            f"u{rng.integers(15)}",
            f"i{rng.integers(40)}",
            str(rng.choice(EVENT_TYPES)),
            # Whole minutes, shuffled: out-of-order arrivals and equal times.
            t0 + timedelta(minutes=int(rng.integers(0, 300))),
        )
        for _ in range(1200)
    ]
    start = 0
    while start < len(events):  # batches of 1 to 40 events, any users
        size = int(rng.integers(1, 41))
        for state in (memory, shared):
            state.add_events(events[start : start + size])
        start += size
    histories = {u: memory.user_history(u) for u in (f"u{n}" for n in range(15))}
    assert all(p and r for p, r in histories.values())  # not vacuous
    assert {u: shared.user_history(u) for u in histories} == histories


def _stream(n: int = 1200, seed: int = 5) -> list[dict]:
    rng = np.random.default_rng(seed)
    minutes = np.sort(rng.integers(0, 40 * 24 * 60, n))
    minutes[rng.random(n) < 0.05] -= 3 * 24 * 60  # some arrive days late (out of order)
    out = []
    for i in range(n):
        out.append(
            {
                "id": f"t{i}",
                "time": float(minutes[i] * 60 + 1_714_521_600),
                "amount": float(np.round(rng.lognormal(3.5, 1.2), 2)),
                "entities": {
                    "customer_id": f"c{rng.integers(30)}",
                    "terminal_id": f"term:{rng.integers(40)}",
                    "device_id": None if rng.random() < 0.2 else f"d,{rng.integers(20)}",
                },
                "fraud": bool(rng.random() < 0.1),
            }
        )
    return out


def _replay(
    stream: list[dict], state: InProcessFraudState | RedisFraudState
) -> tuple[np.ndarray, list[EntityHistory | None]]:
    """Feature rows of the stream, and the terminal's history after each record (mid-stream state)."""
    rng = np.random.default_rng(0)
    rows, pending, seen = [], [], []
    for i, tx in enumerate(stream):
        if i > 0 and rng.random() < 0.05:  # a rescore of an earlier id: counts nothing
            old = stream[int(rng.integers(i))]
            state.record(old["id"], tx["time"], 1.0, old["entities"], {"score": -1.0})
        rows.append(online_vector(tx["time"], tx["amount"], tx["entities"], state, CONFIG))
        state.record(tx["id"], tx["time"], tx["amount"], tx["entities"], {"score": tx["amount"] / 1e3})
        now = state.history("terminal_id", tx["entities"]["terminal_id"])
        # In process, ``partners`` is the live set: copy it, as the state is read at this step.
        seen.append(None if now is None else replace(now, partners=copy.deepcopy(now.partners)))
        pending.append(tx)
        if rng.random() < 0.3:  # labels arrive late and in batches, some flipped twice
            for done in pending:
                state.label(done["id"], done["fraud"])
            state.label(tx["id"], not tx["fraud"])
            pending = []
    state.label("never-scored", True)
    return np.vstack(rows), seen


def _snapshot(state: InProcessFraudState | RedisFraudState, stream: list[dict]) -> dict:
    keys = {(e, v) for tx in stream for e, v in tx["entities"].items() if v is not None}
    hists: dict[tuple[str, str], EntityHistory | None] = {k: state.history(*k) for k in sorted(keys)}
    answers = {tx["id"]: state.recall(tx["id"]) for tx in stream}
    return {"histories": hists, "answers": answers, "len": len(state)}


def test_fraud_features_and_state_match_in_process(client: redis.Redis, namespace: str) -> None:
    stream = _stream()
    memory = InProcessFraudState(retention_s=RETENTION)
    shared = RedisFraudState(client, namespace=namespace, retention_s=RETENTION)
    (expected, expected_seen), (got, got_seen) = _replay(stream, memory), _replay(stream, shared)
    # Bit-for-bit: sums are added in IEEE doubles in the same order on both sides.
    np.testing.assert_array_equal(got, expected)
    assert got_seen == expected_seen  # the same rows kept and pruned at every step
    names = CONFIG.names()
    for name in ("customer_id_n_1d", "terminal_id_fraud_rate_10d", "new_device_id_for_customer_id"):
        assert np.nanstd(expected[:, names.index(name)]) > 0, name  # not vacuous
    want, have = _snapshot(memory, stream), _snapshot(shared, stream)
    assert have == want
    assert 0 < want["len"] < len(stream)  # some answers expired
    pruned = want["histories"][("customer_id", "c0")]
    assert pruned is not None and len(pruned.times) < pruned.n_all  # some history was pruned
