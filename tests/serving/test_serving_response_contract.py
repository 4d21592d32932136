"""Hot routes encode their JSON with orjson (serving.responses): the bodies still match the schemas."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from serving.schemas.common import ItemListResponse
from serving.schemas.fraud import FraudScoreResponse
from serving.schemas.search import SearchResponse

TX = {"transaction_id": "c-1", "timestamp": "2024-02-01T10:00:00Z", "customer_id": "c1", "amount": 20.0}
CASES = [
    ("POST", "/v1/recommendations", {"user_id": "u1", "k": 5}, ItemListResponse),
    ("POST", "/v1/recommendations", {"session_item_ids": ["pan"], "k": 3}, ItemListResponse),
    ("GET", "/v1/items/pan/similar?k=5", None, ItemListResponse),
    ("GET", "/v1/items/pot/bought-together?k=5&in_stock_only=false", None, ItemListResponse),
    ("GET", "/v1/trending?k=3", None, ItemListResponse),
    ("POST", "/v1/search", {"query": "frying pan", "k": 3}, SearchResponse),
    ("POST", "/v1/search", {"query": "fryng pann", "filters": {"in_stock_only": True}}, SearchResponse),
    ("POST", "/v1/fraud/score", TX, FraudScoreResponse),
]


@pytest.mark.parametrize(("method", "path", "body", "schema"), CASES, ids=[c[1] for c in CASES])
def test_body_validates_against_the_declared_response_model(
    client: TestClient, method: str, path: str, body: dict | None, schema: type[BaseModel]
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    parsed = schema.model_validate_json(response.content)
    # Nothing extra and nothing dropped: the model re-serialised gives the same document.
    assert parsed.model_dump(mode="json") == response.json()
