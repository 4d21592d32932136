"""The endpoints the web console reads besides the storefront ones, and the console page itself.

``GET /v1/items`` (titles, prices and stock for id lists), prices on search hits, recent sales
beside a forecast, the fraud model's transaction fields, and the console's static page.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from serving_support import CATALOG, as_scope

ROWS = CATALOG.set_index("item_id")


def test_items_answers_catalog_fields_in_the_order_asked(client: TestClient) -> None:
    r = client.get("/v1/items?ids=wok&ids=nope&ids=pan", headers=as_scope("storefront"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["item_id"] for i in body["items"]] == ["wok", "pan"]
    assert body["unknown_item_ids"] == ["nope"]
    wok = body["items"][0]
    assert (wok["title"], wok["price"], wok["in_stock"], wok["brand"]) == ("Carbon Wok", 50.0, False, "Ikea")
    assert wok["category"] == "Kitchen > Cookware" and body["model_version"] == "search-v1"


def test_items_refuses_no_ids_too_many_ids_and_other_scopes(client: TestClient) -> None:
    no_ids = client.get("/v1/items", headers=as_scope("storefront"))
    assert no_ids.status_code == 422 and "ids" in no_ids.text
    many = "&".join(f"ids=i{n}" for n in range(101))
    too_many = client.get(f"/v1/items?{many}", headers=as_scope("storefront"))
    assert too_many.status_code == 422 and "100" in too_many.text
    assert client.get("/v1/items?ids=pan", headers=as_scope("checkout")).status_code == 403


def test_search_hits_carry_price_and_stock(client: TestClient) -> None:
    r = client.post("/v1/search", json={"query": "steel", "k": 5}, headers=as_scope("storefront"))
    assert r.status_code == 200, r.text
    hits = r.json()["results"]
    assert hits
    for hit in hits:
        row = ROWS.loc[hit["item_id"]]
        assert (hit["price"], hit["in_stock"]) == (row["price"], bool(row["in_stock"]))


def test_forecast_returns_recent_sales_only_when_asked(client: TestClient) -> None:
    ask = {"item_id": "pan", "store_id": "s1", "horizon": 7}
    plain = client.post("/v1/forecast", json=ask, headers=as_scope("planner")).json()
    assert plain["history"] == []
    r = client.post("/v1/forecast", json={**ask, "history": True}, headers=as_scope("planner"))
    assert r.status_code == 200, r.text
    body = r.json()
    history = body["history"]
    assert len(history) == 7  # the seasonal naive model keeps one season
    assert history[-1]["date"] < body["points"][0]["date"]
    # The tiny shop's pan sold dayofweek + 1 units a day: the last week is 1..7 in some order.
    assert sorted(p["quantity"] for p in history) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_fraud_fields_list_what_the_served_model_reads(client: TestClient) -> None:
    r = client.get("/v1/fraud/fields", headers=as_scope("checkout"))
    assert r.status_code == 200, r.text
    fields = {f["name"]: f for f in r.json()["fields"]}
    assert [n for n, f in fields.items() if f["required"]] == [
        "transaction_id",
        "timestamp",
        "customer_id",
        "amount",
    ]
    assert fields["channel"] == {
        "name": "channel",
        "kind": "category",
        "required": False,
        "values": ["app", "pos", "web"],
    }
    assert fields["items"]["kind"] == "number"
    assert client.get("/v1/fraud/fields", headers=as_scope("storefront")).status_code == 403


def test_registry_endpoints_say_when_the_server_serves_model_directories(client: TestClient) -> None:
    r = client.get("/v1/admin/models", headers=as_scope("admin"))
    assert r.status_code == 409 and "SHELFWISE_MODEL_DIRS" in r.json()["detail"]
    promote = client.post("/v1/admin/models/search/promote", json={"version": "1"}, headers=as_scope("admin"))
    assert promote.status_code == 409
    bad = client.post("/v1/admin/models/weather/promote", json={"version": "1"}, headers=as_scope("admin"))
    assert bad.status_code == 422 and "recsys" in bad.text
    assert client.get("/v1/admin/models", headers=as_scope("planner")).status_code == 403


def test_console_pages_are_one_static_page_with_local_assets_and_a_strict_policy(client: TestClient) -> None:
    for path in ("/console", "/console/search?q=pan&brand=Tefal", "/console/item"):
        page = client.get(path, headers={"X-API-Key": ""})  # no key needed for the page itself
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/console-assets/console.js">' in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    script = client.get("/console-assets/console.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "X-API-Key" in script.text and "http" not in script.text.replace("http://www.w3.org", "")
    assert client.get("/console-assets/console.css").status_code == 200
    assert 'href="/console"' in client.get("/").text
    assert "/console" not in client.get("/openapi.json").json()["paths"]
