"""The real registry flow against MLflow on PostgreSQL (a fresh database per test, dropped after).

Needs a PostgreSQL server (default ``postgresql://postgres@127.0.0.1:5432``, trust auth; override
with ``POSTGRES_TEST_URL``). Skips when none answers, but fails under ``CI=true``: CI starts one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from registry_support import register  # the same registration call as the SQLite tests

from models import registry
from models.settings import Settings
from recsys.popularity import PopularityRecommender
from serving.model_store import ModelStore

SERVER = os.environ.get("POSTGRES_TEST_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def _admin_connection():  # -> psycopg2 connection to the maintenance database, autocommit
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(f"{SERVER}/postgres", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        why = " ".join(str(exc).split())
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PostgreSQL at {SERVER} is unreachable: {why}")
        pytest.skip(f"PostgreSQL at {SERVER} is unreachable ({why}); set POSTGRES_TEST_URL")
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    return conn


@pytest.fixture()
def pg_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose tracking URI is a fresh PostgreSQL database; artifacts under SHELFWISE_HOME."""
    conn = _admin_connection()
    db = f"shelfwise_test_{uuid.uuid4().hex[:12]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db}"')
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHELFWISE_MLFLOW_TRACKING_URI", f"{SERVER}/{db}")
    monkeypatch.setenv("SHELFWISE_FAMILIES", '["recsys"]')
    try:
        yield Settings(_env_file=None)  # type: ignore[call-arg]
    finally:
        with conn.cursor() as cur:  # FORCE: MLflow's connection pool still holds sessions
            cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.close()


def _popularity_dir(tmp_path: Path, name: str, top_item: str) -> Path:
    """A real, servable popularity model whose most popular item is ``top_item``."""
    items = ["a", "b", "c"]
    catalog = pd.DataFrame(
        {
            "item_id": items,
            "title": ["Pan", "Pot", "Wok"],
            "description": [""] * 3,
            "category": ["Kitchen > Cookware"] * 3,
            "brand": ["Acme"] * 3,
            "price": [10.0, 20.0, 30.0],
            "in_stock": [True] * 3,
            "created_at": pd.Timestamp("2026-01-01"),
        }
    )
    bought = [top_item] * 5 + items
    events = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(bought))],
            "item_id": bought,
            "event_type": "purchase",
            "timestamp": pd.date_range("2026-02-01", periods=len(bought), freq="h"),
            "session_id": None,
            "order_id": [f"o{i}" for i in range(len(bought))],
            "quantity": 1,
        }
    )
    out = tmp_path / name
    PopularityRecommender(min_support=1).fit(events, catalog).save(out)
    return out


def test_postgres_registry_flow_and_served_champion(pg_settings: Settings, tmp_path: Path) -> None:
    settings = pg_settings
    assert settings.tracking_uri.startswith("postgresql://")
    first = register(settings, _popularity_dir(tmp_path, "v1", "a"), 0.10)
    assert (first.version, first.promoted) == ("1", True)
    assert first.comparison["reason"].startswith("no champion yet")
    worse = register(settings, _popularity_dir(tmp_path, "v2", "b"), 0.05)
    assert not worse.promoted and worse.previous_champion == "1"
    assert "does not beat champion v1 beyond noise" in worse.comparison["reason"]
    assert registry.alias_version(settings, "recsys", registry.CHALLENGER) == "2"
    better = register(settings, _popularity_dir(tmp_path, "v3", "c"), 0.20)
    assert better.promoted and better.version == "3"
    assert registry.alias_version(settings, "recsys") == "3"

    # Artifacts live inside SHELFWISE_HOME, never in the working directory.
    art = registry.fetch_alias(settings, "recsys")
    assert art.version == "3" and (art.path / "meta.json").is_file()
    assert art.path.is_relative_to(settings.cache_dir)
    assert any((settings.home_dir / "mlartifacts").rglob("meta.json"))

    registry.promote(settings, "recsys", "2")  # rollback by hand
    assert registry.fetch_alias(settings, "recsys").version == "2"
    rows = registry.list_models(settings)
    assert [r["version"] for r in rows] == ["3", "2", "1"]
    assert rows[1]["aliases"] == ["champion"] and rows[1]["value"] == pytest.approx(0.05)

    served = ModelStore.from_registry(settings)
    assert served.ready
    model, version = served.get("recsys")
    assert version == "2" and type(model).__name__ == "PopularityRecommender"
    assert model.trending(k=1).item_ids == ["b"]  # the v2 model, not another version's
