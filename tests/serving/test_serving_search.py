"""Search and suggest through the API, on the real BM25 model."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_support import CATALOG

ITEMS = CATALOG.set_index("item_id")


def test_search_happy_path(client: TestClient) -> None:
    response = client.post("/v1/search", json={"query": "frying pan", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["results"][0] == {
        "item_id": "pan",
        "title": "Frying Pan",
        "score": pytest.approx(body["results"][0]["score"]),
        "price": 30.0,
        "in_stock": True,
    }
    assert body["model_version"] == "search-v1"
    assert body["total"] >= len(body["results"])
    assert set(body["facets"]) == {"category", "brand"}
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_without_matches_is_empty_not_an_error(client: TestClient) -> None:
    body = client.post("/v1/search", json={"query": "zeppelin"}).json()
    assert (body["results"], body["total"]) == ([], 0)


@pytest.mark.parametrize(
    "filters",
    [
        {"in_stock_only": True},
        {"brand": "ikea"},
        {"category": "Kitchen > Cookware"},
        {"price_min": 10, "price_max": 45},
        {"brand": "Ikea", "in_stock_only": True, "category": "kitchen"},
    ],
)
def test_search_filters_never_leak(client: TestClient, filters: dict[str, Any]) -> None:
    response = client.post(
        "/v1/search", json={"query": "steel wok pan ladle spatula rug lamp", "k": 100, "filters": filters}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert response.json()["total"] == len(results)
    for hit in results:
        item = ITEMS.loc[hit["item_id"]]
        if filters.get("in_stock_only"):
            assert item["in_stock"]
        if "brand" in filters:
            assert item["brand"].lower() == filters["brand"].lower()
        if "category" in filters:
            assert item["category"].lower().startswith(filters["category"].lower())
        assert filters.get("price_min", 0) <= item["price"] <= filters.get("price_max", float("inf"))


def test_search_counts_facets_over_all_matches(client: TestClient) -> None:
    body = client.post("/v1/search", json={"query": "steel", "k": 1}).json()
    assert len(body["results"]) == 1
    assert sum(body["facets"]["brand"].values()) == body["total"] > 1


def test_suggest(client: TestClient) -> None:
    response = client.get("/v1/search/suggest", params={"q": "fry", "k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "search-v1"
    assert body["suggestions"] and all(s.startswith("fry") for s in body["suggestions"])
    assert len(client.get("/v1/search/suggest", params={"q": "s", "k": 2}).json()["suggestions"]) <= 2
