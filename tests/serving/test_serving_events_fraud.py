"""Events into the online state; fraud scoring and feedback on the real LightGBM baseline."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from serving.online.state import InMemoryOnlineState


def _tx(**extra: object) -> dict[str, object]:
    return {
        "transaction_id": "t-1",
        "timestamp": "2024-02-01T10:00:00Z",
        "customer_id": "c1",
        "amount": 20.0,
    } | extra


def test_events_are_accepted_and_stored(client: TestClient, state: InMemoryOnlineState) -> None:
    events = [
        {"user_id": "u1", "item_id": "pan", "event_type": "view", "timestamp": "2024-04-01T10:00:00+02:00"},
        {"user_id": "u1", "item_id": "pot", "event_type": "add_to_cart", "session_id": "s1"},
        {"user_id": "u1", "item_id": "novel", "event_type": "purchase", "order_id": "o1", "quantity": 2},
        {"user_id": "u2", "item_id": "rug", "event_type": "view", "timestamp": "2024-04-01T08:00:00"},
    ]
    response = client.post("/v1/events", json={"events": events})
    assert response.status_code == 202
    assert response.json() == {"accepted": 4, "model_version": "recsys-v1"}
    assert state.user_history("u1") == (["novel"], ["pot", "pan"])  # default timestamp "now" is newest
    assert state.user_history("u2") == ([], ["rug"])
    assert state.user_history("nobody") == ([], [])


def test_fraud_score_happy_path(client: TestClient) -> None:
    response = client.post("/v1/fraud/score", json=_tx(channel="web", items=2))
    assert response.status_code == 200
    body = response.json()
    assert body["transaction_id"] == "t-1" and body["model_version"] == "fraud-v1"
    assert 0.0 <= body["score"] <= 1.0
    assert body["decision"] in {"approve", "review", "decline"}
    assert isinstance(body["reasons"], list)


def test_fraud_extras_reach_the_model(client: TestClient) -> None:
    risky = client.post("/v1/fraud/score", json=_tx(amount=900.0, channel="web")).json()
    safe = client.post("/v1/fraud/score", json=_tx(amount=900.0, channel="pos")).json()
    assert risky["score"] > safe["score"]
    assert any("channel=web" in reason for reason in risky["reasons"])


def test_fraud_accepts_null_and_unknown_extras(client: TestClient) -> None:
    response = client.post("/v1/fraud/score", json=_tx(channel=None, coupon="SPRING", gift=True))
    assert response.status_code == 200


def test_fraud_feedback_is_stored(client: TestClient, state: InMemoryOnlineState) -> None:
    response = client.post(
        "/v1/fraud/feedback", json={"transaction_id": "t-1", "is_fraud": True, "source": "chargeback"}
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "model_version": "fraud-v1"}
    [stored] = state.fraud_feedback()
    assert (stored.transaction_id, stored.is_fraud, dict(stored.extra)) == (
        "t-1",
        True,
        {"source": "chargeback"},
    )
    assert stored.received_at <= datetime.now(UTC)
