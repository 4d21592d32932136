"""RedisOnlineState and RedisFraudState against a real Redis: semantics, atomicity, app wiring."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis_support import REDIS_URL, fresh_namespace, redis_or_skip
from serving_support import make_settings

from fraud.online_state import FraudState
from fraud.redis_state import RedisFraudState
from serving.app import create_app
from serving.online.redis_state import RedisOnlineState
from serving.online.state import Event, FraudFeedback, OnlineState
from storage.redis import connect, key_prefix

T0 = datetime(2024, 4, 1, tzinfo=UTC)


@pytest.fixture()
def client() -> redis.Redis:
    return redis_or_skip()


@pytest.fixture()
def namespace(client: redis.Redis) -> Iterator[str]:
    yield from fresh_namespace(client)


def _event(user: str, item: str, kind: str = "view", minutes: int = 0) -> Event:
    return Event(user, item, kind, T0 + timedelta(minutes=minutes))


def test_history_is_most_recent_first_unique_and_split_by_type(client: redis.Redis, namespace: str) -> None:
    state = RedisOnlineState(client, namespace=namespace)
    state.add_events(
        [
            _event("u", "a", "view", 1),
            _event("u", "b", "add_to_cart", 3),
            _event("u", "a", "view", 5),
            _event("u", "c", "purchase", 2),
            _event("u", "d|with|bars", "view", 4),
        ]
    )
    assert state.user_history("u") == (["c"], ["a", "d|with|bars", "b"])
    assert state.user_history("nobody") == ([], [])
    assert isinstance(state, OnlineState)


def test_naive_and_aware_timestamps_compare_as_utc(client: redis.Redis, namespace: str) -> None:
    state = RedisOnlineState(client, namespace=namespace)
    state.add_events([Event("u", "old", "view", datetime(2024, 4, 1, 0, 0)), _event("u", "new", "view", 1)])
    assert state.user_history("u")[1] == ["new", "old"]


def test_each_user_is_capped_and_expires_when_inactive(client: redis.Redis, namespace: str) -> None:
    state = RedisOnlineState(client, namespace=namespace, max_events_per_user=3, user_ttl_s=600)
    state.add_events([_event("u1", f"i{n}", minutes=n) for n in range(5)])
    assert state.user_history("u1")[1] == ["i4", "i3", "i2"]
    key = key_prefix(namespace) + "u:u1"
    assert client.llen(key) == 3 and 0 < client.ttl(key) <= 600


def test_two_clients_share_events(client: redis.Redis, namespace: str) -> None:
    replica_a = RedisOnlineState(client, namespace=namespace)
    replica_b = RedisOnlineState(connect(f"{REDIS_URL}?namespace={namespace}")[0], namespace=namespace)
    replica_a.add_events([_event("u", "pan", "purchase")])
    assert replica_b.user_history("u") == (["pan"], [])
    other = RedisOnlineState(client, namespace=namespace + "-other")
    assert other.user_history("u") == ([], [])  # namespaces do not see each other


def test_concurrent_writers_lose_nothing(client: redis.Redis, namespace: str) -> None:
    state = RedisOnlineState(client, namespace=namespace, max_events_per_user=10_000)

    def write(n: int) -> None:
        for i in range(50):
            state.add_events([_event("u", f"{n}-{i}", minutes=i)])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.user_history("u")[1]) == 200


def test_fraud_feedback_round_trips(client: redis.Redis, namespace: str) -> None:
    state = RedisOnlineState(client, namespace=namespace, max_feedback=2)
    for n in range(3):
        state.add_fraud_feedback(FraudFeedback(f"t{n}", n % 2 == 0, T0, {"source": "chargeback"}))
    got = state.fraud_feedback()
    assert [(f.transaction_id, f.is_fraud) for f in got] == [("t1", False), ("t2", True)]
    assert got[0].received_at == T0 and got[0].extra == {"source": "chargeback"}


def test_fraud_record_is_idempotent_and_labels_flip(client: redis.Redis, namespace: str) -> None:
    state = RedisFraudState(client, namespace=namespace)
    assert isinstance(state, FraudState)
    ents = {"customer_id": "c:1", "device_id": "d,1", "card": None}
    state.record("t1", 100.0, 20.5, ents, {"score": 0.25, "decision": "approve", "reasons": []})
    state.record("t1", 200.0, 999.0, ents, {"score": 0.99})  # a rescore never counts twice
    assert state.recall("t1") == {"score": 0.25, "decision": "approve", "reasons": []}
    assert state.recall("unknown") is None
    hist = state.history("customer_id", "c:1")
    assert hist is not None
    assert (hist.times, hist.amounts, hist.frauds, hist.ids) == ([100.0], [20.5], [0], ["t1"])
    assert (hist.n_all, hist.sum_all, hist.last_time) == (1, 20.5, 100.0)
    assert hist.partners == {"device_id": {"d,1"}}
    assert state.history("card", "x") is None and len(state) == 1
    assert state.label("t1", True) and not state.label("never-scored", True)
    assert state.history("device_id", "d,1").frauds == [1]  # type: ignore[union-attr]


def test_concurrent_replicas_record_each_transaction_once(client: redis.Redis, namespace: str) -> None:
    """Two replicas (own clients) race on the same ids and on one shared customer."""
    replicas = [RedisFraudState(client, namespace=namespace)]
    replicas.append(RedisFraudState(connect(f"{REDIS_URL}?namespace={namespace}")[0], namespace=namespace))

    def write(state: RedisFraudState, offset: int) -> None:
        for i in range(100):
            tx = f"t{(i + offset) % 100}"  # both write every id, in a different order
            state.record(tx, float(i), 1.0, {"customer_id": "c"}, {"score": offset})

    threads = [threading.Thread(target=write, args=(s, 50 * n)) for n, s in enumerate(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hist = replicas[1].history("customer_id", "c")
    assert hist is not None
    assert hist.n_all == 100 and sorted(hist.ids) == sorted(f"t{i}" for i in range(100))
    assert hist.sum_all == 100.0 and len(replicas[0]) == 100


def test_create_app_uses_redis_for_a_redis_url(namespace: str) -> None:
    app = create_app(make_settings(state_url=f"{REDIS_URL}?namespace={namespace}"))
    assert isinstance(app.state.online, RedisOnlineState) and app.state.online.namespace == namespace
    assert isinstance(app.state.fraud.state, RedisFraudState)


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "memory://", "127.0.0.1:6379"])
def test_create_app_refuses_other_state_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"SHELFWISE_STATE_URL.*redis://"):
        create_app(make_settings(state_url=url))


def test_create_app_fails_fast_when_redis_is_down() -> None:
    with pytest.raises(ConnectionError, match="SHELFWISE_STATE_URL points at 127.0.0.1:1 but Redis"):
        create_app(make_settings(state_url="redis://127.0.0.1:1/0"))


def test_a_bad_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match="namespace"):
        connect("redis://127.0.0.1:6379/0?namespace=a*b")


def test_ready_says_when_redis_lost_the_shared_state(
    loaded_store, client: redis.Redis, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    settings = make_settings(state_url=f"{REDIS_URL}?namespace={namespace}")
    with TestClient(create_app(settings, model_store=loaded_store)) as api:
        assert any("keeps nothing on disk" in r.getMessage() for r in caplog.records)  # CI's Redis
        ready = api.get("/ready")
        assert ready.status_code == 200 and ready.json()["warnings"] == []
        # A restart of Redis without persistence (or a flush) removes every key of the namespace.
        for key in client.scan_iter(match=f"shelfwise:{{{namespace}}}:*"):
            client.delete(key)
        ready = api.get("/ready").json()
        assert "Redis lost the shared state" in ready["warnings"][0] and ready["status"] == "ready"
        assert sum("Redis lost the shared state" in r.getMessage() for r in caplog.records) == 1
        assert "Redis lost" in api.get("/ready").json()["warnings"][0]  # said until restart
        assert sum("Redis lost the shared state" in r.getMessage() for r in caplog.records) == 1


def test_catalog_changes_are_shared_through_redis(client: redis.Redis, namespace: str) -> None:
    from serving.online.state import CatalogChange

    one = RedisOnlineState(client, namespace=namespace)
    other = RedisOnlineState(client, namespace=namespace)  # another replica
    change = CatalogChange("stock", {"in_stock": {"pan": False}}, datetime(2026, 1, 2, tzinfo=UTC))
    one.add_catalog_change(change)
    one.add_catalog_change(CatalogChange("delete", {"item_ids": ["rug"]}, datetime(2026, 1, 3, tzinfo=UTC)))
    assert other.catalog_changes()[0] == change
    assert [c.kind for c in other.catalog_changes()] == ["stock", "delete"]


def test_replicas_share_one_rate_limit_through_redis(loaded_store, namespace: str) -> None:
    from fastapi.testclient import TestClient

    settings = make_settings(state_url=f"{REDIS_URL}?namespace={namespace}", rate_limit_per_minute=3)
    storefront = {"X-API-Key": "storefront-key-abcdefghijklmnopqrstu"}
    with (
        TestClient(create_app(settings, model_store=loaded_store), headers=storefront) as one,
        TestClient(create_app(settings, model_store=loaded_store), headers=storefront) as two,
    ):
        codes = [c.get("/v1/trending").status_code for c in (one, two, one, two)]
        assert codes == [200, 200, 200, 429]  # three for the key in all, wherever they land
        refused = two.get("/v1/trending")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert one.get("/health", headers={"X-API-Key": ""}).status_code == 200  # never limited
