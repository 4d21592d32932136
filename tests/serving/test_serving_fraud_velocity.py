"""/v1/fraud with the velocity model: online state, idempotency, rules, feedback, 422s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serving_support import _transactions, make_settings

from fraud.checks import seconds
from fraud.online_state import InProcessFraudState
from fraud.rules import RuleSet
from fraud.velocity import online_vector
from fraud.velocity_model import VelocityFraudModel
from serving.app import create_app
from serving.fraud_runtime import FraudRuntime
from serving.model_store import ModelStore


@pytest.fixture(scope="module")
def velocity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = VelocityFraudModel(n_estimators=30, min_child_samples=5, entities=["customer_id"])
    return model.fit(_transactions()).save(tmp_path_factory.mktemp("velocity") / "fraud")


@pytest.fixture()
def runtime() -> FraudRuntime:
    return FraudRuntime(InProcessFraudState(), rules=RuleSet(block={"customer_id": ["c-banned"]}))


@pytest.fixture()
def client(velocity_dir: Path, runtime: FraudRuntime) -> Iterator[TestClient]:
    store = ModelStore.from_dirs({"fraud": velocity_dir}, {"fraud": "fraud-v2"}, families=["fraud"])
    app = create_app(make_settings(families=["fraud"]), model_store=store)
    app.state.fraud = runtime
    with TestClient(app, headers={"X-API-Key": "checkout-key-abcdefghijklmnopqrstu"}) as test_client:
        yield test_client


def _tx(**change: object) -> dict[str, object]:
    return {
        "transaction_id": "t-1",
        "timestamp": "2024-02-01T10:00:00Z",
        "customer_id": "c1",
        "amount": 20.0,
        "channel": "web",
    } | change


def test_score_records_the_transaction_once(client: TestClient, runtime: FraudRuntime) -> None:
    first = client.post("/v1/fraud/score", json=_tx())
    assert first.status_code == 200, first.text
    body = first.json()
    assert 0.0 <= body["score"] <= 1.0 and body["rule"] is None and body["model_version"] == "fraud-v2"
    assert "Idempotent-Replayed" not in first.headers
    again = client.post("/v1/fraud/score", json=_tx())  # a retry: the same body
    assert again.status_code == 200 and again.json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(runtime.state) == 1
    assert runtime.state.history("customer_id", "c1").n_all == 1


def test_a_reused_transaction_id_with_another_body_is_a_409_naming_the_fields(
    client: TestClient, runtime: FraudRuntime
) -> None:
    assert client.post("/v1/fraud/score", json=_tx()).status_code == 200
    clash = client.post("/v1/fraud/score", json=_tx(amount=5000.0, customer_id="c2"))
    assert clash.status_code == 409, clash.text
    problem = clash.json()
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert problem["differing_fields"] == ["amount", "customer_id"]
    assert "t-1" in problem["detail"] and "amount, customer_id differ" in problem["detail"]
    assert problem["errors"][0]["field"] == "body.transaction_id"
    assert len(runtime.state) == 1  # nothing of the clashing request was recorded
    assert runtime.state.history("customer_id", "c1").n_all == 1


def test_block_list_beats_the_model(client: TestClient) -> None:
    body = client.post("/v1/fraud/score", json=_tx(customer_id="c-banned", amount=1.0, channel="pos")).json()
    assert (body["decision"], body["rule"]) == ("decline", "block:customer_id")


@pytest.mark.parametrize(
    "change",
    [
        {"amount": None},
        {"amount": -5.0},
        {"amount": "lots"},
        {"currency": "ZZZ"},
        {"timestamp": "2999-01-01T00:00:00Z"},
        {"customer_id": ["c1"]},
        {"channel": {"nested": 1}},
    ],
)
def test_bad_input_is_422_and_leaves_the_state_untouched(
    client: TestClient, runtime: FraudRuntime, change: dict[str, object]
) -> None:
    body = _tx(**change)
    if change.get("amount", 0) is None:
        del body["amount"]
    response = client.post("/v1/fraud/score", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"], response.text
    assert len(runtime.state) == 0 and runtime.state.history("customer_id", "c1") is None


def test_feedback_updates_entity_risk_after_the_label_delay(
    client: TestClient, runtime: FraudRuntime, velocity_dir: Path
) -> None:
    assert client.post("/v1/fraud/score", json=_tx(currency="EUR")).status_code == 200
    accepted = client.post("/v1/fraud/feedback", json={"transaction_id": "t-1", "is_fraud": True})
    assert accepted.status_code == 202
    assert runtime.state.history("customer_id", "c1").frauds == [1]
    config = VelocityFraudModel.load(velocity_dir).config_
    rate = config.names().index("customer_id_fraud_rate_7d")
    t0 = seconds("2024-02-01T10:00:00")
    soon = online_vector(t0 + 86400, 10.0, {"customer_id": "c1"}, runtime.state, config)
    later = online_vector(t0 + 8 * 86400, 10.0, {"customer_id": "c1"}, runtime.state, config)
    assert np.isnan(soon[rate]) and later[rate] == 1.0
    # A later score of the same customer reads the label once it would be known.
    late = client.post("/v1/fraud/score", json=_tx(transaction_id="t-2", timestamp="2024-02-09T11:00:00Z"))
    assert late.status_code == 200 and runtime.state.history("customer_id", "c1").n_all == 2


def test_rules_file_is_data_reloaded_on_change(tmp_path: Path) -> None:
    import json
    import os

    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"block": {"device_id": ["d1"]}}))
    runtime = FraudRuntime(InProcessFraudState(), rules_path=path)
    assert runtime.rules.check({"device_id": "d1"}).rule == "block:device_id"
    path.write_text(json.dumps({"allow": {"device_id": ["d1"]}}))
    os.utime(path, (1e9, 1e9))  # a different modification time, whatever the clock resolution
    assert runtime.rules.check({"device_id": "d1"}).rule == "allow:device_id"
    path.write_text("{not json")
    os.utime(path, (2e9, 2e9))
    assert runtime.rules.check({"device_id": "d1"}).rule == "allow:device_id"  # last good rules kept


def test_state_dir_from_env_persists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHELFWISE_FRAUD_STATE_DIR", str(tmp_path / "state"))
    runtime = FraudRuntime.from_env()
    runtime.state.record("t1", 0.0, 5.0, {"customer_id": "c"}, {"score": 0.1, "decision": "approve"})
    runtime.state.close()
    assert FraudRuntime.from_env().state.recall("t1") == {"score": 0.1, "decision": "approve"}


def test_admin_replaces_rules_and_they_apply_at_once(client: TestClient, runtime: FraudRuntime) -> None:
    admin = {"X-API-Key": "admin-key-abcdefghijklmnopqrstu"}
    rules = {
        "block": {"customer_id": ["c9"]},
        "rules": [{"name": "big", "field": "amount", "op": ">=", "value": 10000, "decision": "review"}],
    }
    assert client.put("/v1/admin/fraud-rules", json=rules).status_code == 403  # checkout key
    saved = client.put("/v1/admin/fraud-rules", json=rules, headers=admin)
    assert saved.status_code == 200, saved.text
    assert client.get("/v1/admin/fraud-rules", headers=admin).json()["block"] == {"customer_id": ["c9"]}
    body = client.post("/v1/fraud/score", json=_tx(transaction_id="r1", customer_id="c9")).json()
    assert (body["decision"], body["rule"]) == ("decline", "block:customer_id")
    body = client.post("/v1/fraud/score", json=_tx(transaction_id="r2", amount=20000.0)).json()
    assert body["rule"] == "rule:big"
    bad = {"rules": [{"name": "x", "field": "amount", "op": "~=", "value": 1, "decision": "review"}]}
    refused = client.put("/v1/admin/fraud-rules", json=bad, headers=admin)
    assert refused.status_code == 422
    assert runtime.rules.to_json()["block"] == {"customer_id": ["c9"]}  # unchanged


def test_served_process_persists_fraud_state_under_home_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.app import create_app_from_env
    from serving.fraud_runtime import STATE_DIR_ENV

    monkeypatch.delenv(STATE_DIR_ENV, raising=False)
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHELFWISE_MODEL_DIRS", "{}")
    monkeypatch.setenv("SHELFWISE_FAMILIES", '["fraud"]')
    app = create_app_from_env()
    assert app.state.fraud.state.directory == tmp_path / "home" / "fraud-state"


class _StalledJournal(InProcessFraudState):
    """A journaled fraud state whose commit hangs until the test releases it (a stalled disk)."""

    writes_block = True  # type: ignore[assignment]  # as a disk flush or a network would

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def record(self, *args: object, **kwargs: object) -> None:
        self.entered.set()
        assert self.release.wait(10)
        super().record(*args, **kwargs)  # type: ignore[arg-type]


def test_health_answers_while_a_fraud_journal_commit_is_stalled(velocity_dir: Path) -> None:
    store = ModelStore.from_dirs({"fraud": velocity_dir}, {"fraud": "fraud-v2"}, families=["fraud"])
    app = create_app(make_settings(families=["fraud"]), model_store=store)
    stalled = _StalledJournal()
    app.state.fraud = FraudRuntime(stalled, rules=RuleSet())
    with TestClient(app, headers={"X-API-Key": "checkout-key-abcdefghijklmnopqrstu"}) as client:
        with ThreadPoolExecutor(1) as pool:
            scoring = pool.submit(client.post, "/v1/fraud/score", json=_tx())
            assert stalled.entered.wait(10)  # the commit is stuck now
            started = time.monotonic()
            assert client.get("/health").status_code == 200  # the event loop is free
            assert client.get("/ready").status_code == 200
            assert time.monotonic() - started < 2 and not scoring.done()
            stalled.release.set()
            assert scoring.result(10).status_code == 200
