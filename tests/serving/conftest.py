"""Fixtures: the tiny shop's four real models fitted once per session, and an app client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import FAMILIES, fitted_models, make_settings

from serving.app import create_app
from serving.model_store import ModelStore
from serving.online.state import InMemoryOnlineState


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Saved model directories, one per family (never modify them)."""
    root = tmp_path_factory.mktemp("models")
    return {family: model.save(root / family) for family, model in fitted_models().items()}


@pytest.fixture(scope="session")
def versions() -> dict[str, str]:
    return {family: f"{family}-v1" for family in FAMILIES}


@pytest.fixture(scope="session")
def loaded_store(model_dirs: dict[str, Path], versions: dict[str, str]) -> ModelStore:
    """All four families loaded (session-wide: tests that swap models build their own)."""
    return ModelStore.from_dirs(model_dirs, versions)


@pytest.fixture()
def state() -> InMemoryOnlineState:
    return InMemoryOnlineState()


@pytest.fixture()
def client(loaded_store: ModelStore, state: InMemoryOnlineState) -> Iterator[TestClient]:
    """A client with every model loaded and a fresh online state; sends the all-scopes key."""
    app = create_app(make_settings(), model_store=loaded_store, online_state=state)
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as test_client:
        yield test_client
