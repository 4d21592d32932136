"""The global forecaster through the API: /v1/forecast lookups and /v1/inventory/{item}/reorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serving_support import make_settings

from forecasting.global_model import GlobalForecaster
from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.state import InMemoryOnlineState

MAX_HORIZON = 21


def _sales() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=120, freq="D")
    frames = [
        pd.DataFrame(
            {
                "item_id": item,
                "store_id": store,
                "date": dates,
                "quantity": np.maximum(base + dates.dayofweek + rng.normal(0, 1.5, len(dates)), 0).round(),
            }
        )
        for item, store, base in (("pan", "s1", 5.0), ("pan", "s2", 8.0), ("novel", "s1", 20.0))
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def global_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = GlobalForecaster(max_horizon=MAX_HORIZON, calibration_windows=2, n_estimators=60).fit(_sales())
    return model.save(tmp_path_factory.mktemp("global") / "forecasting")


@pytest.fixture()
def api(global_dir: Path) -> Iterator[TestClient]:
    store = ModelStore.from_dirs({"forecasting": global_dir}, {"forecasting": "forecasting-v2"})
    app = create_app(make_settings(), model_store=store, online_state=InMemoryOnlineState())
    with TestClient(app, headers={"X-API-Key": "planner-key-abcdefghijklmnopqrstu"}) as client:
        yield client


def test_forecast_lookup_has_exactly_horizon_points_with_intervals(api: TestClient) -> None:
    response = api.post("/v1/forecast", json={"item_id": "pan", "store_id": "s1", "horizon": 10})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "forecasting-v2" and len(body["points"]) == 10
    assert body["points"][0]["date"] == "2024-04-30"  # the day after the last sale
    assert all(p["lower"] <= p["mean"] <= p["upper"] for p in body["points"])
    total = api.post("/v1/forecast", json={"item_id": "pan", "horizon": 3}).json()["points"]
    s2 = api.post("/v1/forecast", json={"item_id": "pan", "store_id": "s2", "horizon": 3}).json()["points"]
    assert total[0]["mean"] == pytest.approx(body["points"][0]["mean"] + s2[0]["mean"])


def test_horizon_beyond_the_precomputed_one_is_422_naming_the_maximum(api: TestClient) -> None:
    response = api.post("/v1/forecast", json={"item_id": "pan", "horizon": MAX_HORIZON + 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.horizon"
    assert f"1 and {MAX_HORIZON}" in response.json()["detail"]


def test_unknown_item_is_404_with_a_clear_message(api: TestClient) -> None:
    response = api.post("/v1/forecast", json={"item_id": "nope"})
    assert response.status_code == 404
    assert response.json()["detail"] == "Unknown item 'nope'"
    assert response.json()["errors"][0]["field"] == "body.item_id"
    reorder = api.get("/v1/inventory/nope/reorder", params={"lead_time": 3})
    assert reorder.status_code == 404 and reorder.json()["errors"][0]["field"] == "path.item_id"
    store = api.get("/v1/inventory/pan/reorder", params={"lead_time": 3, "store_id": "s9"})
    assert store.status_code == 404 and store.json()["errors"][0]["field"] == "query.store_id"


def test_reorder_advice_grows_with_service_level_and_lead_time(api: TestClient) -> None:
    def rop(**params: object) -> float:
        response = api.get("/v1/inventory/novel/reorder", params={"store_id": "s1", **params})
        assert response.status_code == 200, response.text
        return response.json()["reorder_point"]

    assert (
        rop(lead_time=5, service_level=0.8)
        < rop(lead_time=5, service_level=0.95)
        < rop(lead_time=5, service_level=0.99)
    )
    assert rop(lead_time=3) < rop(lead_time=7) < rop(lead_time=14)
    body = api.get(
        "/v1/inventory/novel/reorder", params={"store_id": "s1", "lead_time": 7, "on_hand": 10}
    ).json()
    assert body["model_version"] == "forecasting-v2"
    assert body["reorder_point"] == pytest.approx(body["lead_time_demand"] + body["safety_stock"])
    assert body["suggested_order_quantity"] == pytest.approx(body["order_up_to"] - 10)
    plenty = api.get("/v1/inventory/novel/reorder", params={"lead_time": 7, "on_hand": 10_000}).json()
    assert plenty["suggested_order_quantity"] == 0.0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lead_time": 0}, "query.lead_time"),
        ({"lead_time": MAX_HORIZON}, "query.lead_time"),  # plus one review period is past the max
        ({"lead_time": 3, "service_level": 1.0}, "query.service_level"),
        ({"lead_time": 3, "on_hand": -2}, "query.on_hand"),
        ({}, "query.lead_time"),
    ],
)
def test_bad_reorder_parameters_are_422_naming_the_field(api: TestClient, params: dict, field: str) -> None:
    response = api.get("/v1/inventory/pan/reorder", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_reorder_needs_the_planner_scope(api: TestClient) -> None:
    response = api.get(
        "/v1/inventory/pan/reorder",
        params={"lead_time": 3},
        headers={"X-API-Key": "storefront-key-abcdefghijklmnopqrstu"},
    )
    assert response.status_code == 403
