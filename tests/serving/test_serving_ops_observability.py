"""Observability: request ids, JSON log lines without keys, and the domain metrics."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from serving_support import BrokenRecommender, as_scope, make_settings

from serving.app import create_app
from serving.logs import JsonFormatter, configure_logging, request_id_from
from serving.model_store import ModelEntry, ModelStore


@pytest.fixture()
def json_logs() -> Iterator[io.StringIO]:
    """Every log line of the test, formatted by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _metric(client: TestClient, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with exactly ``labels`` (0 when absent)."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_request_id_is_generated_echoed_or_replaced(client: TestClient) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/health").headers["x-request-id"] != generated
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123.x:y"}).headers["x-request-id"]
        == "abc-123.x:y"
    )
    for bad in ("a" * 129, "has space", "semi;colon", "<script>"):
        echoed = client.get("/health", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert echoed != bad and re.fullmatch(r"[0-9a-f]{32}", echoed)
    # Error answers carry it too: 401 from auth, 413 from the body limit.
    assert "x-request-id" in client.post("/v1/recommendations", json={}, headers={"X-API-Key": "x"}).headers
    huge = client.post("/v1/events", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and "x-request-id" in huge.headers


def test_access_lines_are_json_with_the_request_id_and_never_the_key(
    client: TestClient, json_logs: io.StringIO
) -> None:
    response = client.post("/v1/recommendations", json={"k": 2}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    client.post("/v1/recommendations", json={}, headers={"X-API-Key": "guessed-key-123"})
    lines = _lines(json_logs)
    access = [line for line in lines if line["logger"] == "shelfwise.access"]
    first = next(line for line in access if line.get("request_id") == "req-42")
    assert first["method"] == "POST" and first["path"] == "/v1/recommendations"
    assert first["status"] == 200 and isinstance(first["duration_ms"], float)
    assert {"ts", "level", "msg"} <= set(first)
    assert any(line["status"] == 401 for line in access)
    text = json_logs.getvalue()
    assert "all-key-abcdefghijklmnopqrstu" not in text and "guessed-key-123" not in text


def test_a_500_logs_its_traceback_under_the_request_id(
    loaded_store: ModelStore, json_logs: io.StringIO
) -> None:
    store = ModelStore.from_dirs({}, families=["recsys"])
    store.swap(ModelEntry("recsys", "loaded", model=BrokenRecommender(), version="broken"))
    app = create_app(make_settings(), model_store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/v1/recommendations", json={}, headers={**as_scope("storefront"), "X-Request-ID": "boom-1"}
        )
    assert response.status_code == 500 and response.headers["x-request-id"] == "boom-1"
    error = next(line for line in _lines(json_logs) if line["logger"] == "shelfwise.serving.errors")
    assert error["request_id"] == "boom-1" and "RuntimeError" in str(error["exc"])
    assert response.json()["error_id"] in str(error["msg"])


def test_configure_logging_makes_every_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("info", "json")
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("shelfwise.test").warning("hello %s", "world")
        logging.getLogger("uvicorn.access").info("GET /v1/trending 200")  # ours replaces it
        logging.getLogger("faiss.loader").info("Loading faiss with AVX2 support.")  # CPU probe: not news
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("uvicorn.access").propagate = True
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(x["logger"], x["msg"]) for x in lines] == [
        ("uvicorn.error", "Started server process"),
        ("shelfwise.test", "hello world"),
    ]


def test_uvicorn_no_access_log_silences_ours_too() -> None:
    root, uv_access = logging.getLogger(), logging.getLogger("uvicorn.access")
    saved = root.handlers[:], root.level, uv_access.handlers[:], uv_access.propagate
    try:
        uv_access.handlers[:], uv_access.propagate = [], False  # what `uvicorn --no-access-log` does
        configure_logging("info", "json")
        assert not logging.getLogger("shelfwise.access").isEnabledFor(logging.INFO)
        uv_access.propagate = True  # a plain run: access lines on
        configure_logging("info", "json")
        assert logging.getLogger("shelfwise.access").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], level, uv_access.handlers[:], uv_access.propagate = saved
        root.setLevel(level)
        logging.getLogger("shelfwise.access").setLevel(logging.NOTSET)


def test_request_id_from_validates() -> None:
    assert request_id_from("ok_1") == "ok_1"
    assert len(request_id_from(None)) == 32 and len(request_id_from("bad\nid")) == 32


def test_domain_metrics_count_sources_decisions_events_and_models(client: TestClient) -> None:
    recs = client.post("/v1/recommendations", json={"k": 2}).json()
    source = recs["source"]
    before = _metric(client, "shelfwise_recommendation_responses_total", source=source)
    client.post("/v1/recommendations", json={"k": 2})
    assert _metric(client, "shelfwise_recommendation_responses_total", source=source) == before + 1

    viewed = _metric(client, "shelfwise_events_ingested_total", event_type="view")
    events = [{"user_id": "u", "item_id": "pan", "event_type": "view"}] * 3
    assert client.post("/v1/events", json={"events": events}).status_code == 202
    assert _metric(client, "shelfwise_events_ingested_total", event_type="view") == viewed + 3

    tx = {"transaction_id": "m1", "timestamp": "2024-02-01T10:00:00", "customer_id": "c1", "amount": 20.0}
    decision = client.post("/v1/fraud/score", json=tx).json()["decision"]
    assert _metric(client, "shelfwise_fraud_decisions_total", decision=decision) >= 1

    assert (
        _metric(client, "shelfwise_model_loaded", family="recsys", version="recsys-v1", status="loaded") == 1
    )
    text = client.get("/metrics").text
    assert 'http_request_duration_seconds_bucket{handler="/v1/recommendations"' in text
