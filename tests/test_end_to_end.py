"""End to end, as a user runs it: demo store -> `shelfwise train all` -> a real uvicorn server.

Everything goes through the installed ``shelfwise`` command in subprocesses with a temporary
SHELFWISE_HOME, so this also checks the CLI wiring, the MLflow store and the registry cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from e2e_support import ADMIN, CHECKOUT, PLANNER, STOREFRONT, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(demo_home: tuple[dict[str, str], Path]) -> Iterator[str]:
    with serving(demo_home[0]) as url:
        yield url


def test_every_endpoint_answers_over_http(server: str, demo_home: tuple[dict[str, str], Path]) -> None:
    _, data = demo_home
    catalog = pd.read_parquet(data / "catalog.parquet")
    sales = pd.read_parquet(data / "sales.parquet")
    item = str(catalog["item_id"].iloc[0])
    sf, co, pl, ad = ({"X-API-Key": k} for k in (STOREFRONT, CHECKOUT, PLANNER, ADMIN))
    with httpx.Client(base_url=server, timeout=30) as c:
        assert c.get("/health").json()["status"] == "ok"
        ready = c.get("/ready").json()
        assert all(
            ready["families"][f]["version"] == "1" for f in ("recsys", "search", "fraud", "forecasting")
        )
        recs = c.post("/v1/recommendations", headers=sf, json={"user_id": "nobody", "k": 5})
        assert (
            recs.status_code == 200 and len(recs.json()["items"]) == 5 and recs.json()["model_version"] == "1"
        )
        for path in (
            f"/v1/items/{item}/similar?k=3",
            f"/v1/items/{item}/bought-together?k=3",
            "/v1/trending?k=3",
        ):
            r = c.get(path, headers=sf)
            assert r.status_code == 200 and r.json()["items"], (path, r.text)
        ev = {"user_id": "u-e2e", "item_id": item, "event_type": "purchase", "order_id": "o1"}
        assert c.post("/v1/events", headers=sf, json={"events": [ev]}).status_code == 202
        after = c.post("/v1/recommendations", headers=sf, json={"user_id": "u-e2e", "k": 20}).json()
        assert item not in {i["item_id"] for i in after["items"]}
        word = str(catalog["title"].iloc[0]).split()[-1]
        found = c.post("/v1/search", headers=sf, json={"query": word, "k": 5})
        assert found.status_code == 200 and found.json()["total"] > 0, found.text
        assert c.get(f"/v1/search/suggest?q={word[:3]}", headers=sf).status_code == 200
        tx = {"transaction_id": "t1", "timestamp": "2026-10-30T12:00:00", "customer_id": "c1", "amount": 42.0}
        score = c.post("/v1/fraud/score", headers=co, json=tx)
        assert score.status_code == 200 and 0.0 <= score.json()["score"] <= 1.0, score.text
        assert (
            c.post(
                "/v1/fraud/feedback", headers=co, json={"transaction_id": "t1", "is_fraud": False}
            ).status_code
            == 202
        )
        row = sales.iloc[0]
        fc = c.post(
            "/v1/forecast",
            headers=pl,
            json={"item_id": str(row["item_id"]), "store_id": str(row["store_id"]), "horizon": 7},
        )
        assert fc.status_code == 200 and len(fc.json()["points"]) == 7, fc.text
        assert c.post("/v1/admin/reload", headers=ad).status_code == 200
        assert c.post("/v1/forecast", headers=sf, json={"item_id": "x", "horizon": 7}).status_code == 403
        assert c.get("/v1/trending").status_code == 401
        assert "http_request" in c.get("/metrics").text
