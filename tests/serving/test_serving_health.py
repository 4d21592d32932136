"""Liveness, readiness, metrics and the OpenAPI docs."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from serving_support import FAMILIES, make_settings

from serving.app import create_app
from serving.model_store import ModelStore


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health", headers={"X-API-Key": ""})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_200_when_every_family_is_loaded(client: TestClient) -> None:
    response = client.get("/ready", headers={"X-API-Key": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {f: s["status"] for f, s in body["families"].items()} == dict.fromkeys(FAMILIES, "loaded")
    assert body["families"]["recsys"]["version"] == "recsys-v1"


def test_ready_503_names_the_missing_family_and_how_to_train_it(model_dirs: dict[str, Path]) -> None:
    dirs = {f: d for f, d in model_dirs.items() if f != "fraud"}
    store = ModelStore.from_dirs(dirs, families=FAMILIES)
    with TestClient(create_app(make_settings(), model_store=store)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    families = response.json()["families"]
    assert families["fraud"]["status"] == "missing"
    assert "shelfwise train fraud" in families["fraud"]["reason"]
    assert families["recsys"]["status"] == "loaded"
    assert response.json()["status"] == "not_ready"


def test_ready_503_before_models_are_loaded() -> None:
    app = create_app(make_settings())  # no store and no lifespan run: nothing loaded yet
    response = TestClient(app).get("/ready")
    assert response.status_code == 503
    assert {s["status"] for s in response.json()["families"].values()} == {"missing"}


def test_metrics_expose_request_and_model_metrics(client: TestClient) -> None:
    assert client.post("/v1/recommendations", json={"k": 2}).status_code == 200
    response = client.get("/metrics", headers={"X-API-Key": ""})
    assert response.status_code == 200
    text = response.text
    assert 'http_requests_total{handler="/v1/recommendations",method="POST",status="2xx"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'shelfwise_model_loaded{family="recsys",status="loaded",version="recsys-v1"} 1.0' in text
    assert 'handler="/metrics"' not in text


def test_docs_and_openapi_describe_every_route(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            schema = op["responses"][ok]["content"]["application/json"]["schema"]
            assert "$ref" in schema, f"{method.upper()} {path} lacks a response model"
            if path.startswith("/v1"):
                assert "401" in op["responses"] and "403" in op["responses"], path
