"""The hybrid recommender behind the API: real-time events, stock updates, rules, fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serving_support import CATALOG, _events, as_scope, make_settings

from recsys.hybrid import HybridRecommender
from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.state import InMemoryOnlineState

ITEMS = CATALOG.set_index("item_id")


def _embeddings() -> np.ndarray:
    codes = CATALOG["category"].str.split(" > ").str[0].factorize()[0]
    vectors = np.eye(codes.max() + 1)[codes] + 0.05 * np.arange(len(codes))[:, None]
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def hybrid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = HybridRecommender(factors=4, iterations=3, rerank_rounds=10)
    return model.fit(_events(), CATALOG, embeddings=_embeddings()).save(
        tmp_path_factory.mktemp("hybrid") / "recsys"
    )


@pytest.fixture()
def api(hybrid_dir: Path) -> Iterator[TestClient]:
    # A fresh load per test: stock updates change the served model in place.
    store = ModelStore.from_dirs({"recsys": hybrid_dir}, {"recsys": "recsys-h1"})
    app = create_app(make_settings(), model_store=store, online_state=InMemoryOnlineState())
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as client:
        yield client


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["items"]]


def test_a_posted_view_changes_the_very_next_recommendation(api: TestClient) -> None:
    before = api.post("/v1/recommendations", json={"user_id": "newcomer", "k": 4})
    assert before.json()["source"] == "trending"
    event = {"user_id": "newcomer", "item_id": "atlas", "event_type": "view"}
    assert api.post("/v1/events", json={"events": [event]}).status_code == 202
    after = api.post("/v1/recommendations", json={"user_id": "newcomer", "k": 4})
    assert after.json()["source"] == "session" and _ids(after) != _ids(before)
    assert all(item["reason"] for item in after.json()["items"])


def test_a_posted_purchase_is_excluded_next_time(api: TestClient) -> None:
    first = _ids(api.post("/v1/recommendations", json={"user_id": "u1", "k": 5}))
    event = {"user_id": "u1", "item_id": first[0], "event_type": "purchase", "order_id": "o77"}
    api.post("/v1/events", json={"events": [event]})
    assert first[0] not in _ids(api.post("/v1/recommendations", json={"user_id": "u1", "k": 5}))


def test_inventory_update_takes_effect_on_the_next_request(api: TestClient) -> None:
    body = {"session_item_ids": ["pan"], "k": 9}
    assert "pot" in _ids(api.post("/v1/recommendations", json=body))
    update = api.post(
        "/v1/inventory", json={"items": [{"item_id": "pot", "stock": 0}, {"item_id": "zzz", "stock": 3}]}
    )
    assert update.status_code == 200, update.text
    assert update.json() == {"updated": 1, "unknown_item_ids": ["zzz"], "model_version": "recsys-h1"}
    assert "pot" not in _ids(api.post("/v1/recommendations", json=body))
    assert "pot" not in _ids(api.get("/v1/items/pan/similar", params={"k": 9}))
    api.post("/v1/inventory", json={"items": [{"item_id": "pot", "stock": 12}]})
    assert "pot" in _ids(api.post("/v1/recommendations", json=body))


def test_inventory_needs_the_admin_scope_and_valid_levels(api: TestClient) -> None:
    body = {"items": [{"item_id": "pot", "stock": 0}]}
    assert api.post("/v1/inventory", json=body, headers=as_scope("storefront")).status_code == 403
    bad = api.post("/v1/inventory", json={"items": [{"item_id": "pot", "stock": -1}]})
    assert bad.status_code == 422 and "stock" in bad.text


def test_diversity_cap_and_filters_from_the_request(api: TestClient) -> None:
    body = {"session_item_ids": ["pan"], "k": 9, "max_per_category": 1}
    ids = _ids(api.post("/v1/recommendations", json=body))
    categories = [ITEMS.loc[i, "category"] for i in ids]
    assert len(categories) == len(set(categories))
    kitchen = _ids(
        api.post("/v1/recommendations", json={"user_id": "u1", "k": 9, "filters": {"category": "Kitchen"}})
    )
    assert kitchen and all(ITEMS.loc[i, "category"].startswith("Kitchen") for i in kitchen)
    bad = api.post("/v1/recommendations", json={"k": 3, "max_per_brand": 0})
    assert bad.status_code == 422 and "max_per_brand" in bad.text


def test_unknown_ids_get_the_fallback_not_an_error(api: TestClient) -> None:
    response = api.post(
        "/v1/recommendations", json={"user_id": "ghost", "session_item_ids": ["nope"], "k": 3}
    )
    assert response.status_code == 200 and response.json()["source"] == "trending"
    assert api.get("/v1/items/nope/similar").status_code == 404
