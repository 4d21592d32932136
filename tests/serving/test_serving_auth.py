"""API keys and scopes: who may call what."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_support import as_scope

from models.settings import SCOPES
from serving.auth import ApiKeyAuth

# (method, path, json body, the one scope allowed, the success status)
ENDPOINTS: list[tuple[str, str, Any, str, int]] = [
    ("POST", "/v1/recommendations", {"k": 2}, "storefront", 200),
    ("GET", "/v1/items/pan/similar", None, "storefront", 200),
    ("GET", "/v1/items/pan/bought-together", None, "storefront", 200),
    ("GET", "/v1/trending", None, "storefront", 200),
    (
        "POST",
        "/v1/events",
        {"events": [{"user_id": "u", "item_id": "pan", "event_type": "view"}]},
        "storefront",
        202,
    ),
    ("POST", "/v1/search", {"query": "pan"}, "storefront", 200),
    ("GET", "/v1/search/suggest?q=pa", None, "storefront", 200),
    (
        "POST",
        "/v1/fraud/score",
        {"transaction_id": "t1", "timestamp": "2024-02-01T10:00:00", "customer_id": "c1", "amount": 20.0},
        "checkout",
        200,
    ),
    ("POST", "/v1/fraud/feedback", {"transaction_id": "t1", "is_fraud": True}, "checkout", 202),
    ("POST", "/v1/forecast", {"item_id": "pan", "horizon": 3}, "planner", 200),
    ("POST", "/v1/admin/reload", None, "admin", 200),
]


def _call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "ok"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS]
)
def test_scope_matrix(
    client: TestClient, scope: str, method: str, path: str, body: Any, allowed: str, ok: int
) -> None:
    response = _call(client, method, path, body, as_scope(scope))
    if scope == allowed:
        assert response.status_code == ok, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert f"'{allowed}' scope" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "ok"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS]
)
@pytest.mark.parametrize("key", [None, "", "wrong-key-abcdefghijklmnopqrstu", "STOREFRONT-KEY"])
def test_missing_or_unknown_key_is_401(
    client: TestClient, key: str | None, method: str, path: str, body: Any, allowed: str, ok: int
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    client.headers.pop("X-API-Key")
    response = _call(client, method, path, body, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("ApiKey")
    problem = response.json()
    assert problem["status"] == 401 and problem["title"] == "Unauthorized"
    if key:
        assert key not in response.text


def test_auth_is_checked_before_the_body(client: TestClient) -> None:
    client.headers.pop("X-API-Key")
    assert client.post("/v1/recommendations", json={"k": 0}).status_code == 401
    assert client.post("/v1/recommendations", json={"k": 0}, headers=as_scope("checkout")).status_code == 403


def test_admin_does_not_imply_other_scopes(client: TestClient) -> None:
    assert client.post("/v1/recommendations", json={}, headers=as_scope("admin")).status_code == 403
    assert client.post("/v1/admin/reload", headers=as_scope("admin")).status_code == 200


def test_only_digests_are_kept() -> None:
    auth = ApiKeyAuth({"super-secret-key-abcdefghijklmnopqrstu": ["storefront"]})
    assert "super-secret-key-abcdefghijklmnopqrstu" not in repr(vars(auth))
    principal = auth.authenticate("super-secret-key-abcdefghijklmnopqrstu")
    assert principal is not None and principal.scopes == {"storefront"}
    assert auth.authenticate("super-secret-ke") is None
    assert auth.authenticate(None) is None


def test_unknown_scope_is_refused_without_showing_the_key() -> None:
    with pytest.raises(ValueError, match=r"unknown scopes \['superuser'\]") as info:
        ApiKeyAuth({"my-key-abcdefghijklmnopqrstu": ["superuser"]})
    assert "my-key-abcdefghijklmnopqrstu" not in str(info.value)


def test_keys_never_reach_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/v1/recommendations", json={})
    client.post("/v1/recommendations", json={}, headers={"X-API-Key": "guessed-key-123"})
    assert "all-key-abcdefghijklmnopqrstu" not in caplog.text and "guessed-key-123" not in caplog.text


def test_the_app_keeps_no_raw_key(client: TestClient) -> None:
    assert client.app.state.settings.api_keys == {}
    assert client.post("/v1/recommendations", json={}).status_code == 200


def test_a_server_picks_up_created_and_revoked_keys_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.keys import create_key, read_keys, revoke_key
    from serving import auth as auth_module

    monkeypatch.setattr(auth_module, "RECHECK_S", 0.0)
    path = tmp_path / "api_keys.json"
    first = create_key(path, name="web", scopes=["storefront"])
    auth = ApiKeyAuth({k: e["scopes"] for k, e in read_keys(path).items()}, source=path)
    assert auth.authenticate(first) is not None
    second = create_key(path, name="checkout", scopes=["checkout"])
    found = auth.authenticate(second)
    assert found is not None and found.scopes == {"checkout"}  # created: accepted at once
    revoke_key(path, "web")
    assert auth.authenticate(first) is None  # revoked: refused at once
    path.write_text("{broken")
    assert auth.authenticate(second) is not None  # a bad edit keeps the keys already loaded
