"""Forecasts through the API, on the real seasonal-naive model."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient


def test_forecast_happy_path(client: TestClient) -> None:
    response = client.post("/v1/forecast", json={"item_id": "pan", "store_id": "s1", "horizon": 7})
    assert response.status_code == 200
    body = response.json()
    assert (body["item_id"], body["store_id"], body["model_version"]) == ("pan", "s1", "forecasting-v1")
    points = body["points"]
    assert len(points) == 7
    dates = [dt.date.fromisoformat(p["date"]) for p in points]
    assert dates[0] == dt.date(2024, 2, 26)  # the day after the last sale
    assert all(b - a == dt.timedelta(days=1) for a, b in zip(dates, dates[1:], strict=False))
    # Sales are 1..7 by weekday: the seasonal naive forecast repeats last week exactly.
    assert [p["mean"] for p in points] == [d.weekday() + 1.0 for d in dates]
    assert all(p["lower"] <= p["mean"] <= p["upper"] for p in points)


def test_forecast_default_horizon_and_store(client: TestClient) -> None:
    body = client.post("/v1/forecast", json={"item_id": "novel"}).json()
    assert len(body["points"]) == 14 and body["store_id"] is None


def test_forecast_horizon_is_capped_by_the_model(client: TestClient) -> None:
    assert client.post("/v1/forecast", json={"item_id": "pan", "horizon": 28}).status_code == 200
    response = client.post("/v1/forecast", json={"item_id": "pan", "horizon": 29})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.horizon"
    assert "1 and 28" in response.json()["detail"]


def test_forecast_unknown_item_or_store_is_404(client: TestClient) -> None:
    item = client.post("/v1/forecast", json={"item_id": "nope"})
    assert item.status_code == 404 and item.json()["errors"][0]["field"] == "body.item_id"
    store = client.post("/v1/forecast", json={"item_id": "pan", "store_id": "s9"})
    assert store.status_code == 404 and store.json()["errors"][0]["field"] == "body.store_id"


def test_a_catalog_item_without_sales_says_so_and_can_ask_for_a_flagged_zero_forecast(
    client: TestClient,
) -> None:
    missing = client.post("/v1/forecast", json={"item_id": "wok", "horizon": 3})  # in the catalog, never sold
    assert missing.status_code == 404
    detail = missing.json()["detail"]
    assert "in the catalog but has no sales history" in detail and '"when_no_history": "zero"' in detail
    assert "Unknown" not in detail
    zero = client.post("/v1/forecast", json={"item_id": "wok", "horizon": 3, "when_no_history": "zero"})
    assert zero.status_code == 200, zero.text
    body = zero.json()
    assert body["basis"] == "no_sales_history" and len(body["points"]) == 3
    assert all(p["mean"] == p["lower"] == p["upper"] == 0.0 for p in body["points"])
    sold = client.post("/v1/forecast", json={"item_id": "pan", "horizon": 3}).json()
    assert sold["basis"] == "model" and [p["date"] for p in sold["points"]] == [
        p["date"] for p in body["points"]
    ]
    unknown = client.post("/v1/forecast", json={"item_id": "nope", "when_no_history": "zero"})
    assert unknown.status_code == 404 and "Unknown item" in unknown.json()["detail"]  # not a catalog item
