"""Hardening: bounded input that no storage can overflow, rules for every fraud model, events from
the future refused, durability and production switches, no paths or exception text to clients."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import as_scope, make_settings

from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.eventlog import DurableOnlineState

ALL = {"X-API-Key": "all-key-abcdefghijklmnopqrstu"}


@pytest.fixture()
def durable(loaded_store: ModelStore, tmp_path: Path) -> Iterator[TestClient]:
    """The ``shelfwise serve`` default: events and labels in the SQLite log, fraud state on disk."""
    state = DurableOnlineState(tmp_path / "events.db")
    app = create_app(make_settings(), model_store=loaded_store, online_state=state, fraud_state_dir=tmp_path)
    with TestClient(app, headers=ALL) as client:
        yield client
    state.close()


def _event(**change: object) -> dict[str, object]:
    return {"user_id": "u1", "item_id": "pan", "event_type": "purchase", "order_id": "o1", **change}


def test_huge_integers_are_a_422_naming_the_field_not_a_500_from_sqlite(durable: TestClient) -> None:
    r = durable.post("/v1/events", json={"events": [_event(quantity=10**30)]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.events.0.quantity"
    assert "1000000" in r.json()["errors"][0]["message"]
    assert durable.post("/v1/events", json={"events": [_event(quantity=1_000_000)]}).status_code == 202
    label = durable.post("/v1/fraud/feedback", json={"transaction_id": "t1", "is_fraud": True, "n": 10**30})
    assert label.status_code == 422 and label.json()["errors"][0]["field"] == "body.n"
    tx = {"transaction_id": "t9", "timestamp": "2024-03-01T10:00:00", "customer_id": "c1", "amount": 10.0}
    assert durable.post("/v1/fraud/score", json={**tx, "items": 2**60}).status_code == 422


def test_fraud_label_extras_are_capped(durable: TestClient) -> None:
    many = {f"x{n}": n for n in range(51)}
    r = durable.post("/v1/fraud/feedback", json={"transaction_id": "t1", "is_fraud": False, **many})
    assert r.status_code == 422 and "at most 50 extra fields" in r.text
    long = durable.post(
        "/v1/fraud/feedback", json={"transaction_id": "t1", "is_fraud": False, "note": "x" * 1001}
    )
    assert long.status_code == 422 and "1000 characters" in long.text


def test_events_from_the_future_are_refused_beyond_the_clock_skew(client: TestClient) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    assert client.post("/v1/events", json={"events": [_event(timestamp=soon)]}).status_code == 202
    r = client.post("/v1/events", json={"events": [_event(), _event(timestamp="9999-01-01T00:00:00")]})
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["field"] == "body.events.1.timestamp" and "SHELFWISE_MAX_CLOCK_SKEW_S" in error["message"]


def test_block_lists_and_rules_decide_for_the_raw_column_model_too(client: TestClient) -> None:
    assert type(client.app.state.models.get("fraud")[0]).__name__ == "RawFeatureFraudModel"
    rules = {
        "block": {"customer_id": ["c-blocked"]},
        "allow": {},
        "rules": [{"name": "big", "field": "amount", "op": ">=", "value": 5000, "decision": "review"}],
    }
    assert client.put("/v1/admin/fraud-rules", json=rules).status_code == 200
    tx = {
        "transaction_id": "t1",
        "timestamp": "2024-03-01T10:00:00",
        "customer_id": "c-blocked",
        "amount": 5.0,
    }
    blocked = client.post("/v1/fraud/score", json=tx).json()
    assert (blocked["decision"], blocked["rule"]) == ("decline", "block:customer_id")
    big = client.post(
        "/v1/fraud/score", json={**tx, "transaction_id": "t2", "customer_id": "c2", "amount": 9000}
    )
    assert (big.json()["decision"], big.json()["rule"]) == ("review", "rule:big")
    plain = client.post("/v1/fraud/score", json={**tx, "transaction_id": "t3", "customer_id": "c3"})
    assert plain.json()["rule"] is None


def test_full_durability_is_a_setting(loaded_store: ModelStore, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path))
    monkeypatch.setenv("SHELFWISE_STATE_SYNCHRONOUS", "FULL")
    monkeypatch.setenv("SHELFWISE_API_KEYS", '{"all-key-abcdefghijklmnopqrstu": ["admin"]}')
    from serving.app import create_app_from_env

    app = create_app_from_env()
    assert app.state.online._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert app.state.fraud.state.fsync
    with sqlite3.connect(tmp_path / "state" / "events.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    app.state.online.close()


def test_docs_can_be_switched_off_and_metrics_protected(loaded_store: ModelStore) -> None:
    settings = make_settings(docs_enabled=False, metrics_scope="admin")
    with TestClient(create_app(settings, model_store=loaded_store)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404, path
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=as_scope("storefront")).status_code == 403
        metrics = client.get("/metrics", headers=as_scope("admin"))
        assert metrics.status_code == 200 and "shelfwise_model_loaded" in metrics.text
        assert client.get("/health").status_code == 200  # the rest is unchanged


def test_ready_never_shows_paths_or_exception_text(
    model_dirs: dict[str, Path], tmp_path: Path, caplog
) -> None:
    broken = tmp_path / "secret-dir" / "search"
    broken.mkdir(parents=True)
    (broken / "meta.json").write_text('{"family": "search", "model_type": "bm25", "format_version": 1}')
    store = ModelStore.from_dirs({"recsys": model_dirs["recsys"], "search": broken})
    with TestClient(create_app(make_settings(), model_store=store)) as client:
        ready = client.get("/ready")
        body = ready.text
        assert ready.status_code == 503 and "error id" in body
        assert str(tmp_path) not in body and "secret-dir" not in body
        search = client.post("/v1/search", json={"query": "pan"}, headers=ALL)
        assert search.status_code == 503 and "secret-dir" not in search.text
    error_id = ready.json()["families"]["search"]["reason"].split("error id ")[1].split(";")[0]
    assert any(error_id in r.getMessage() and "secret-dir" in r.getMessage() for r in caplog.records)


def test_a_corrupt_rules_file_at_start_fails_closed_until_fixed(
    loaded_store: ModelStore, tmp_path: Path, monkeypatch
) -> None:
    rules_file = tmp_path / "rules.json"
    rules_file.write_text('{"block": {"customer_id": ["c-blocked"]}, "rules": [')  # cut short
    monkeypatch.setenv("SHELFWISE_FRAUD_RULES", str(rules_file))
    tx = {
        "transaction_id": "t1",
        "timestamp": "2024-03-01T10:00:00",
        "customer_id": "c-blocked",
        "amount": 5.0,
    }
    with TestClient(create_app(make_settings(), model_store=loaded_store), headers=ALL) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and "fraud rules file" in ready.json()["problems"][0]
        assert str(tmp_path) not in ready.text  # the path is in the log, not the answer
        refused = client.post("/v1/fraud/score", json=tx)
        assert refused.status_code == 503 and "rules" in refused.json()["detail"]
        # Fixed through the API: written durably, in force at once, the server ready again.
        fixed = {"block": {"customer_id": ["c-blocked"]}, "allow": {}, "rules": []}
        put = client.put("/v1/admin/fraud-rules", json=fixed)
        assert put.status_code == 200 and "Warning" not in put.headers
        assert client.get("/ready").status_code == 200
        assert client.post("/v1/fraud/score", json=tx).json()["rule"] == "block:customer_id"
        assert not rules_file.with_suffix(".tmp").exists()
        # Broken again later: the last good rules stay in force.
        rules_file.write_text("not json")
        assert client.post("/v1/fraud/score", json={**tx, "transaction_id": "t2"}).json()["rule"] == (
            "block:customer_id"
        )
        assert client.get("/ready").status_code == 200


def test_rules_held_in_memory_only_come_with_a_warning(client: TestClient) -> None:
    put = client.put("/v1/admin/fraud-rules", json={"block": {}, "allow": {}, "rules": []})
    assert put.status_code == 200 and "memory only" in put.headers["warning"]


def test_the_event_log_is_trimmed_while_running_and_its_size_is_exported(tmp_path: Path) -> None:
    from serving.online.state import Event

    def events(user: str, n: int) -> list[Event]:
        return [Event(user, f"i{k}", "view", datetime.now(UTC)) for k in range(n)]

    log = DurableOnlineState(tmp_path / "events.db", retention_s=0.3, trim_interval_s=0.0)
    log.add_events(events("old", 3))
    assert log.sizes()["event_log_events"] == 3
    import time

    time.sleep(0.4)
    log.add_events(events("new", 2))  # this write finds the trim due: the old rows go
    assert log.sizes()["event_log_events"] == 2
    with sqlite3.connect(tmp_path / "events.db") as conn:
        assert conn.execute("SELECT DISTINCT user_id FROM events").fetchall() == [("new",)]
    log.close()


def test_idle_fraud_entities_expire_past_the_retention(monkeypatch) -> None:
    import fraud.online_state as online_state

    monkeypatch.setattr(online_state, "IDLE_SWEEP", 1)
    state = online_state.InProcessFraudState(retention_s=100.0)
    state.record("t1", 0.0, 10.0, {"customer_id": "c-idle"}, {"score": 0.1})
    state.record("t2", 50.0, 10.0, {"customer_id": "c-busy"}, {"score": 0.1})
    assert state.sizes() == {"fraud_entities": 2, "fraud_answers": 2}
    state.record("t3", 140.0, 10.0, {"customer_id": "c-busy"}, {"score": 0.1})
    assert state.history("customer_id", "c-idle") is None  # nothing newer than the retention
    assert state.history("customer_id", "c-busy") is not None
    assert state.sizes() == {"fraud_entities": 1, "fraud_answers": 2}


def test_state_sizes_are_metrics(durable: TestClient) -> None:
    assert durable.post("/v1/events", json={"events": [_event()]}).status_code == 202
    metrics = durable.get("/metrics").text
    assert 'shelfwise_state_size{part="event_log_events"} 1.0' in metrics
    assert 'shelfwise_state_size{part="users_in_memory"} 1.0' in metrics
    assert 'shelfwise_state_size{part="fraud_entities"}' in metrics
