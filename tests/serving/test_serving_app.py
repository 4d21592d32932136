"""App construction: settings checks, CORS, and the environment factory uvicorn uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import make_settings

from serving.app import create_app, create_app_from_env


def test_cors_only_for_configured_origins(loaded_store: object) -> None:
    app = create_app(make_settings(cors_origins=["https://shop.example"]), model_store=loaded_store)
    client = TestClient(app)
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key,content-type",
    }
    ok = client.options("/v1/recommendations", headers={"Origin": "https://shop.example", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"
    other = client.options("/v1/recommendations", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    # Error answers carry the header too, so a browser can read the problem.
    denied = client.post("/v1/recommendations", json={}, headers={"Origin": "https://shop.example"})
    assert (
        denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "https://shop.example"
    )


def test_no_cors_headers_without_origins(client: TestClient) -> None:
    response = client.post("/v1/recommendations", json={}, headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in response.headers


def test_an_unsupported_state_backend_is_refused() -> None:
    # redis:// URLs select the shared state (tests/serving/test_serving_redis_state.py).
    with pytest.raises(ValueError, match="SHELFWISE_STATE_URL"):
        create_app(make_settings(state_url="memcached://localhost:11211"))


def test_create_app_from_env_serves_model_dirs(
    monkeypatch: pytest.MonkeyPatch, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    monkeypatch.setenv("SHELFWISE_MODEL_DIRS", json.dumps({f: str(d) for f, d in model_dirs.items()}))
    monkeypatch.setenv("SHELFWISE_API_KEYS", json.dumps({"env-key-abcdefghijklmnopqrstu": ["storefront"]}))
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))  # state (fraud journal) goes here
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    with TestClient(create_app_from_env(), headers={"X-API-Key": "env-key-abcdefghijklmnopqrstu"}) as client:
        assert client.get("/ready").status_code == 200
        body = client.post("/v1/recommendations", json={"k": 1}).json()
    assert body["model_version"] == "local:recsys"


def test_create_app_from_env_rejects_bad_model_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFWISE_MODEL_DIRS", "{not json")
    with pytest.raises(ValueError, match="SHELFWISE_MODEL_DIRS must be JSON"):
        create_app_from_env()
