"""The search answer cache: repeated questions are answered from it, and never stale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import CATALOG, make_settings

from search.hybrid import HybridSearch
from search.types import SearchFilters
from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.state import InMemoryOnlineState
from serving.search_cache import SearchAnswerCache

KEY = {"X-API-Key": "all-key-abcdefghijklmnopqrstu"}
WOK = {"title": "Deluxe carbon steel wok", "category": "Kitchen > Cookware", "brand": "WokCo",
       "price": 49.0, "in_stock": True}  # fmt: skip


@pytest.fixture(scope="module")
def hybrid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return HybridSearch().fit(CATALOG).save(tmp_path_factory.mktemp("hybrid"))


def _client(hybrid_dir: Path, **settings: object) -> TestClient:
    store = ModelStore.from_dirs({"search": hybrid_dir}, {"search": "search-hybrid-v1"})
    app = create_app(make_settings(**settings), model_store=store, online_state=InMemoryOnlineState())
    return TestClient(app, headers=KEY)


@pytest.fixture()
def client(hybrid_dir: Path) -> Iterator[TestClient]:
    with _client(hybrid_dir) as test_client:
        yield test_client


def _stats(client: TestClient):
    return client.app.state.search_cache.stats()  # type: ignore[attr-defined]


def test_a_repeated_question_is_answered_from_the_cache(client: TestClient) -> None:
    first = client.post("/v1/search", json={"query": "frying pan", "k": 3})
    again = client.post("/v1/search", json={"query": "frying pan", "k": 3})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["content-type"] == "application/json"
    assert (_stats(client).hits, _stats(client).misses) == (1, 1)
    metrics = client.get("/metrics").text
    assert 'shelfwise_search_cache{stat="hits"} 1.0' in metrics


@pytest.mark.parametrize(
    "change",
    [
        {"k": 5},
        {"filters": {"brand": "Tefal"}},
        {"filters": {"price_max": 40.0}},
        {"query": "frying pans"},
    ],
)
def test_another_k_filter_or_query_is_another_question(client: TestClient, change: dict) -> None:
    client.post("/v1/search", json={"query": "frying pan", "k": 3})
    client.post("/v1/search", json={"query": "frying pan", "k": 3, **change})
    assert _stats(client).hits == 0 and _stats(client).entries == 2


def test_a_catalog_change_is_never_answered_from_the_cache(client: TestClient) -> None:
    def top() -> str:
        return client.post("/v1/search", json={"query": "deluxe wok", "k": 5}).json()["results"][0]["item_id"]

    before = top()
    assert top() == before and _stats(client).hits == 1
    assert client.put("/v1/catalog/items/wok2", json=WOK).status_code == 200
    assert top() == "wok2"
    assert client.delete("/v1/catalog/items/wok2").status_code == 200
    assert top() == before


def test_a_shoppers_history_is_part_of_the_question(client: TestClient) -> None:
    event = {"user_id": "u1", "item_id": "pan", "event_type": "view"}
    assert client.post("/v1/events", json={"events": [event]}).status_code == 202
    client.post("/v1/search", json={"query": "pan", "k": 3})
    client.post("/v1/search", json={"query": "pan", "k": 3, "user_id": "u1"})
    assert _stats(client).hits == 0


def test_a_zero_budget_turns_the_cache_off(hybrid_dir: Path) -> None:
    with _client(hybrid_dir, search_cache_mb=0) as client:
        for _ in range(3):
            assert client.post("/v1/search", json={"query": "frying pan"}).status_code == 200
        assert _stats(client).entries == 0 and _stats(client).hits == 0


def test_the_key_holds_the_model_version_and_the_catalog_version() -> None:
    cache = SearchAnswerCache(1.0)
    key = cache.key("v1", 7, "pan", 10, SearchFilters(), ["a"])
    cache.put(key, b"{}")
    assert cache.get(cache.key("v1", 7, "pan", 10, SearchFilters(), ["a"])) == b"{}"
    for other in (
        cache.key("v2", 7, "pan", 10, SearchFilters(), ["a"]),
        cache.key("v1", 8, "pan", 10, SearchFilters(), ["a"]),
        cache.key("v1", 7, "pan", 10, SearchFilters(), ["b"]),
    ):
        assert cache.get(other) is None
