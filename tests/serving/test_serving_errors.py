"""Problem details for every error path: 404, 413, 422, 500, 503."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from serving_support import FAMILIES, BrokenRecommender, make_settings

from recsys.popularity import PopularityRecommender
from serving.app import create_app
from serving.model_store import ModelEntry, ModelStore

PROBLEM = "application/problem+json"


def _client(store: ModelStore) -> TestClient:
    return TestClient(
        create_app(make_settings(), model_store=store), headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}
    )


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:shelfwise:problem:validation-error" and problem["status"] == 422
    return [e["field"] for e in problem["errors"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/recommendations", {"k": 0}, "body.k"),
        ("POST", "/v1/recommendations", {"k": 101}, "body.k"),
        (
            "POST",
            "/v1/recommendations",
            {"filters": {"price_min": 10, "price_max": 5}},
            "body.filters.price_max",
        ),
        ("POST", "/v1/recommendations", {"filters": {"price_min": -1}}, "body.filters.price_min"),
        ("POST", "/v1/recommendations", {"session_item_ids": ["x"] * 51}, "body.session_item_ids"),
        ("POST", "/v1/recommendations", {"exclude_item_ids": ["x"] * 501}, "body.exclude_item_ids"),
        ("POST", "/v1/recommendations", {"filter": {}}, "body.filter"),
        ("GET", "/v1/items/pan/similar?k=0", None, "query.k"),
        ("GET", "/v1/items/pan/bought-together?in_stock_only=maybe", None, "query.in_stock_only"),
        ("GET", "/v1/trending?k=1000", None, "query.k"),
        ("POST", "/v1/search", {"query": ""}, "body.query"),
        ("POST", "/v1/search", {"query": "x" * 201}, "body.query"),
        ("POST", "/v1/search", {"query": " \t\x1f"}, "body.query"),
        (
            "POST",
            "/v1/search",
            {"query": "pan", "filters": {"price_min": 9, "price_max": 1}},
            "body.filters.price_max",
        ),
        ("GET", "/v1/search/suggest", None, "query.q"),
        ("POST", "/v1/events", {"events": []}, "body.events"),
        (
            "POST",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "pan", "event_type": "like"}]},
            "body.events.0.event_type",
        ),
        (
            "POST",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "pan", "event_type": "view", "quantity": 0}]},
            "body.events.0.quantity",
        ),
        (
            "POST",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "pan", "event_type": "view", "timestamp": "yesterday"}]},
            "body.events.0.timestamp",
        ),
        (
            "POST",
            "/v1/fraud/score",
            {"transaction_id": "t", "timestamp": "2024-01-01T00:00:00", "customer_id": "c", "amount": -1},
            "body.amount",
        ),
        (
            "POST",
            "/v1/fraud/score",
            {
                "transaction_id": "t",
                "timestamp": "2024-01-01T00:00:00",
                "customer_id": "c",
                "amount": 1,
                "device": {"os": "ios"},
            },
            "body.device",
        ),
        (
            "POST",
            "/v1/fraud/score",
            {"timestamp": "2024-01-01T00:00:00", "customer_id": "c", "amount": 1},
            "body.transaction_id",
        ),
        (
            "POST",
            "/v1/fraud/score",
            {
                "transaction_id": "t",
                "timestamp": "0001-01-01T00:00:00+00:01",
                "customer_id": "c",
                "amount": 1,
            },
            "body.timestamp",
        ),
        ("POST", "/v1/fraud/feedback", {"transaction_id": "t", "is_fraud": "perhaps"}, "body.is_fraud"),
        (
            "POST",
            "/v1/fraud/feedback",
            {"transaction_id": "t", "is_fraud": True, "notes": ["a"]},
            "body.notes",
        ),
        ("POST", "/v1/forecast", {"item_id": "pan", "horizon": 0}, "body.horizon"),
        ("POST", "/v1/forecast", {"item_id": "pan", "horizon": 29}, "body.horizon"),
    ],
)
def test_422_names_each_invalid_field(
    client: TestClient, method: str, path: str, body: Any, field: str
) -> None:
    fields = _fields(client.request(method, path, json=body))
    assert field in fields


def test_422_lists_every_invalid_field_and_what_is_allowed(client: TestClient) -> None:
    response = client.post("/v1/recommendations", json={"k": 0, "filters": {"price_min": 5, "price_max": 1}})
    assert _fields(response) == ["body.k", "body.filters.price_max"]
    errors = response.json()["errors"]
    assert "greater than or equal to 1" in errors[0]["message"]
    assert "price_min (5.0)" in errors[1]["message"]
    assert "body.k" in response.json()["detail"]


def test_malformed_json_is_400_with_line_and_column(client: TestClient) -> None:
    body = b'{"k": 5,\n  "user_id": "u1"\n  "filters": {}}'  # a comma missing on line 2
    response = client.post("/v1/recommendations", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"][0]["type"] == "json_invalid"
    assert (problem["line"], problem["column"]) == (3, 3)
    assert "not valid JSON" in problem["detail"] and "line 3, column 3" in problem["detail"]
    assert "body.24" not in problem["detail"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [("NaN", "finite number"), ("Infinity", "finite number"), ("1e308", "above the largest amount accepted")],
)
def test_amounts_that_are_not_numbers_or_absurd_are_refused_and_said_so(
    client: TestClient, amount: str, message: str
) -> None:
    body = '{"transaction_id": "t", "timestamp": "2024-01-01T00:00:00", "customer_id": "c", "amount": %s}'
    response = client.post(
        "/v1/fraud/score", content=(body % amount).encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.amount"
    assert message in response.text and "greater than or equal" not in response.text


def test_too_many_events_is_422_naming_events(loaded_store: ModelStore) -> None:
    app = create_app(make_settings(max_batch=2), model_store=loaded_store)
    events = [{"user_id": "u", "item_id": "pan", "event_type": "view"}] * 3
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as client:
        response = client.post("/v1/events", json={"events": events})
    assert _fields(response) == ["body.events"]
    assert "at most 2 events" in response.json()["detail"]


@pytest.fixture()
def small_body_client(loaded_store: ModelStore) -> Iterator[TestClient]:
    app = create_app(make_settings(max_body_bytes=1024), model_store=loaded_store)
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as client:
        yield client


def test_413_when_content_length_is_too_large(small_body_client: TestClient) -> None:
    body = {"session_item_ids": ["x" * 100] * 20}
    response = small_body_client.post("/v1/recommendations", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "at most 1024 bytes" in response.json()["detail"]


def test_413_when_a_chunked_body_grows_too_large(small_body_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"session_item_ids": ['
        for _ in range(50):
            yield b'"' + b"x" * 50 + b'",'
        yield b'"y"]}'

    response = small_body_client.post(
        "/v1/recommendations", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_small_body_still_passes_the_limit(small_body_client: TestClient) -> None:
    assert small_body_client.post("/v1/recommendations", json={"k": 1}).status_code == 200


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    wrong = client.get("/v1/recommendations")
    assert wrong.status_code == 405 and wrong.json()["title"] == "Method Not Allowed"
    assert "POST" in wrong.headers["allow"]


@pytest.mark.parametrize(
    ("family", "method", "path", "body"),
    [
        ("recsys", "POST", "/v1/recommendations", {}),
        ("recsys", "GET", "/v1/trending", None),
        ("search", "POST", "/v1/search", {"query": "pan"}),
        ("search", "GET", "/v1/search/suggest?q=p", None),
        (
            "fraud",
            "POST",
            "/v1/fraud/score",
            {"transaction_id": "t", "timestamp": "2024-01-01T00:00:00", "customer_id": "c", "amount": 1},
        ),
        ("forecasting", "POST", "/v1/forecast", {"item_id": "pan"}),
    ],
)
def test_503_names_the_missing_model_and_how_to_train_it(
    model_dirs: dict[str, Path], family: str, method: str, path: str, body: Any
) -> None:
    store = ModelStore.from_dirs({f: d for f, d in model_dirs.items() if f != family}, families=FAMILIES)
    other = "/v1/items/pan/similar" if family != "recsys" else "/v1/search/suggest?q=p"
    with _client(store) as client:
        response = client.request(method, path, json=body)
        assert client.get(other).status_code == 200  # the other families keep answering
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "30"
    problem = response.json()
    assert problem["type"] == "urn:shelfwise:problem:model-unavailable" and problem["family"] == family
    assert f"'{family}' model is not available" in problem["detail"]
    assert f"shelfwise train {family}" in problem["detail"]


def test_valid_requests_get_422_before_503(model_dirs: dict[str, Path]) -> None:
    store = ModelStore.from_dirs({}, families=FAMILIES)
    with _client(store) as client:
        assert client.post("/v1/recommendations", json={"k": 0}).status_code == 422
        assert client.post("/v1/recommendations", json={"k": 1}).status_code == 503


def test_500_is_a_problem_without_internals(caplog: pytest.LogCaptureFixture) -> None:
    store = ModelStore.from_dirs({}, families=["recsys"])
    store.swap(ModelEntry("recsys", "loaded", model=BrokenRecommender(), version="broken-1"))
    app = create_app(make_settings(), model_store=store)
    client = TestClient(
        app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}, raise_server_exceptions=False
    )
    with caplog.at_level(logging.ERROR):
        response = client.post("/v1/recommendations", json={})
    assert response.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # logged once, not three times
    assert errors[0].exc_info is not None  # with its traceback
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert problem["error_id"] in problem["detail"]
    assert problem["error_id"] in caplog.text and "/v1/recommendations" in caplog.text


def test_an_unfitted_model_is_503_not_500() -> None:
    store = ModelStore.from_dirs({}, families=["recsys"])
    store.swap(ModelEntry("recsys", "loaded", model=PopularityRecommender(), version="unfitted"))
    with _client(store) as client:
        response = client.post("/v1/recommendations", json={})
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "cannot answer (error id" in detail and "PopularityRecommender" not in detail  # details: log


class _DownState:
    """An online state whose backend fails like a Redis server that went away."""

    reads_block = True  # a network backend: async routes read it off the event loop

    def __init__(self, error: Exception) -> None:
        self.error = error

    def add_events(self, events: Any) -> None:
        raise self.error

    def user_history(self, user_id: str) -> tuple[list[str], list[str]]:
        raise self.error

    def user_events(self, user_id: str) -> list[tuple[str, str]]:
        raise self.error

    def add_fraud_feedback(self, feedback: Any) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        sqlite3.OperationalError("database is locked"),
        redis.exceptions.ReadOnlyError("READONLY You can't write against a read only replica."),
        redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'."),
        sqlite3.DatabaseError("database disk image is malformed"),
    ],
    ids=["redis-down", "redis-timeout", "sqlite-locked", "redis-readonly", "redis-oom", "sqlite-corrupt"],
)
def test_an_unavailable_online_state_is_503_with_retry_after(
    loaded_store: ModelStore, error: Exception
) -> None:
    app = create_app(make_settings(), model_store=loaded_store, online_state=_DownState(error))
    event = {"user_id": "u1", "item_id": "i1", "event_type": "view", "timestamp": "2024-01-01T00:00:00"}
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as client:
        for response in (
            client.post("/v1/events", json={"events": [event]}),
            client.post("/v1/recommendations", json={"user_id": "u1"}),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["retry-after"] == "5"
            assert response.json()["type"] == "urn:shelfwise:problem:state-unavailable"
            assert "6379" not in response.text  # no backend internals in the answer
