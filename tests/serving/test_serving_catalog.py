"""Live catalog endpoints and the hybrid search model through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import CATALOG, as_scope, make_settings

from search.hybrid import HybridSearch
from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.state import InMemoryOnlineState

WOK = {"title": "Iron Wok Deluxe", "category": "Kitchen > Cookware", "brand": "WokCo", "price": 20.0}


@pytest.fixture(scope="module")
def hybrid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return HybridSearch().fit(CATALOG).save(tmp_path_factory.mktemp("hybrid"))


@pytest.fixture()
def hybrid_client(hybrid_dir: Path) -> Iterator[TestClient]:
    """A fresh hybrid model per test (the endpoints change the loaded model in place)."""
    store = ModelStore.from_dirs({"search": hybrid_dir}, {"search": "search-hybrid-v1"})
    app = create_app(make_settings(), model_store=store, online_state=InMemoryOnlineState())
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as test_client:
        yield test_client


def _ids(client: TestClient, query: str, **body) -> list[str]:
    response = client.post("/v1/search", json={"query": query, "k": 20, **body})
    assert response.status_code == 200, response.text
    return [r["item_id"] for r in response.json()["results"]]


def test_hybrid_search_answers_with_correction_and_facets(hybrid_client: TestClient) -> None:
    body = hybrid_client.post("/v1/search", json={"query": "fryng pan", "k": 3}).json()
    assert body["corrected_query"] == "frying pan" and body["results"][0]["item_id"] == "pan"
    assert {"category", "brand", "price"} <= set(body["facets"])
    clean = hybrid_client.post("/v1/search", json={"query": "frying pan", "k": 3}).json()
    assert clean["corrected_query"] is None


def test_put_makes_an_item_searchable_and_delete_removes_it(hybrid_client: TestClient) -> None:
    response = hybrid_client.put("/v1/catalog/items/wok2", json=WOK)
    assert response.status_code == 200 and response.json()["upserted"] == 1
    assert _ids(hybrid_client, "deluxe wok")[0] == "wok2"
    assert _ids(hybrid_client, "wok", filters={"brand": "wokco"}) == ["wok2"]
    assert hybrid_client.delete("/v1/catalog/items/wok2").json()["deleted"] == ["wok2"]
    assert "wok2" not in _ids(hybrid_client, "deluxe wok")
    assert hybrid_client.delete("/v1/catalog/items/wok2").status_code == 404


def test_batch_upserts_then_deletes(hybrid_client: TestClient) -> None:
    body = {
        "upsert": [
            dict(WOK, item_id="a1"),
            dict(WOK, item_id="a2", title="Bamboo Steamer", attributes={"material": "bamboo"}),
        ],
        "delete": ["lamp", "nope"],
    }
    response = hybrid_client.post("/v1/catalog/items", json=body)
    assert response.status_code == 200
    assert response.json()["upserted"] == 2 and response.json()["deleted"] == ["lamp"]
    assert response.json()["n_items"] == len(CATALOG) + 1
    assert "a2" in _ids(hybrid_client, "bamboo")
    assert "lamp" not in _ids(hybrid_client, "desk lamp")


def test_catalog_endpoints_need_the_admin_scope(hybrid_client: TestClient) -> None:
    response = hybrid_client.put("/v1/catalog/items/x", json=WOK, headers=as_scope("storefront"))
    assert response.status_code == 403
    assert hybrid_client.delete("/v1/catalog/items/pan", headers=as_scope("storefront")).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "pan", "k": 0},
        {"query": "pan", "k": 101},
        {"query": "pan", "filters": {"colour": "red"}},
        {"query": "x" * 10_240},
    ],
)
def test_bad_search_requests_get_422(hybrid_client: TestClient, body: dict) -> None:
    response = hybrid_client.post("/v1/search", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body.")


@pytest.mark.parametrize(
    "body", [{**WOK, "price": -1}, {k: v for k, v in WOK.items() if k != "title"}, {**WOK, "x": 1}]
)
def test_bad_items_get_422(hybrid_client: TestClient, body: dict) -> None:
    assert hybrid_client.put("/v1/catalog/items/bad", json=body).status_code == 422


def test_a_bm25_model_refuses_live_updates(client: TestClient) -> None:
    response = client.put("/v1/catalog/items/x", json=WOK)
    assert response.status_code == 409 and "hybrid" in response.json()["detail"]


def test_search_with_a_user_id_uses_their_history(hybrid_client: TestClient) -> None:
    plain = _ids(hybrid_client, "steel")
    assert _ids(hybrid_client, "steel", user_id="nobody-yet") == plain


def _app(dirs: dict[str, Path], log: Path) -> TestClient:
    """A server on fresh model objects and the durable log at ``log`` (a process (re)started)."""
    from serving.online.eventlog import DurableOnlineState

    store = ModelStore.from_dirs(dirs, families=list(dirs))
    app = create_app(
        make_settings(families=list(dirs)), model_store=store, online_state=DurableOnlineState(log)
    )
    return TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"})


def test_stock_and_catalog_changes_survive_a_restart_and_a_hot_swap(
    hybrid_dir: Path, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    dirs = {"search": hybrid_dir, "recsys": model_dirs["recsys"]}
    lamp = {"title": "Brass Reading Lamp", "category": "Home > Lighting", "brand": "Lumo", "price": 35.0}
    with _app(dirs, tmp_path / "events.db") as client:
        assert (
            client.post("/v1/inventory", json={"items": [{"item_id": "novel", "stock": 0}]}).status_code
            == 200
        )
        assert client.put("/v1/catalog/items/brass-lamp", json=lamp).status_code == 200
        assert client.delete("/v1/catalog/items/rug").status_code == 200
    with _app(dirs, tmp_path / "events.db") as client:  # restarted: new model objects, same log
        trending = [i["item_id"] for i in client.get("/v1/trending?k=10").json()["items"]]
        assert "novel" not in trending  # still out of stock
        assert _ids(client, "brass reading lamp")[0] == "brass-lamp"
        assert "rug" not in _ids(client, "wool rug")
        client.app.state.models.reload()  # a hot swap loads fresh objects again
        assert _ids(client, "brass reading lamp")[0] == "brass-lamp"
        assert "novel" not in [i["item_id"] for i in client.get("/v1/trending?k=10").json()["items"]]
    with _app(dirs, tmp_path / "other.db") as client:  # without the log: the trained catalog
        assert "novel" in [i["item_id"] for i in client.get("/v1/trending?k=10").json()["items"]]
        assert "brass-lamp" not in _ids(client, "brass reading lamp")
