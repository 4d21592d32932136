"""ModelStore: loading from the registry (through a fake ``fetch_alias``), isolation, reload, swap."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import FAMILIES, FakeArtifact, as_scope, make_settings

from models import registry
from models.errors import ArtifactError, ModelUnavailableError
from serving.app import create_app
from serving.model_store import ModelEntry, ModelStore

Fetch = Callable[..., FakeArtifact]


@pytest.fixture()
def registered(monkeypatch: pytest.MonkeyPatch, model_dirs: dict[str, Path]) -> dict[str, object]:
    """A fake registry: ``{family: version}`` registered, or an exception to raise for that family."""
    table: dict[str, object] = {f: "7" for f in FAMILIES}
    calls: list[tuple[str, str]] = []

    def fetch_alias(
        settings: object, family: str, alias: str = "champion", *, remember: bool = True
    ) -> FakeArtifact:
        calls.append((family, alias))
        found = table.get(family)
        if isinstance(found, Exception):
            raise found
        if found is None:
            raise ModelUnavailableError(
                family, f"no '{alias}' version is registered; run `shelfwise train {family}`"
            )
        return FakeArtifact(model_dirs[family], str(found), from_cache=family == "search")

    def alias_version(settings: object, family: str, alias: str = "champion") -> str | None:
        found = table.get(family)
        if isinstance(found, Exception):
            raise ConnectionError(str(found))
        return None if found is None else str(found)

    monkeypatch.setattr(registry, "fetch_alias", fetch_alias)
    monkeypatch.setattr(registry, "alias_version", alias_version)
    monkeypatch.setattr(registry, "remember_alias", lambda settings, artifact: None)
    table["_calls"] = calls
    return table


def test_from_registry_loads_every_family_under_the_alias(registered: dict[str, object]) -> None:
    store = ModelStore.from_registry(make_settings(model_alias="staging"))
    assert store.ready
    model, version = store.get("recsys")
    assert version == "7" and type(model).__name__ == "PopularityRecommender"
    assert store.entries()["search"].from_cache
    assert registered["_calls"] == [(f, "staging") for f in FAMILIES]


def test_one_family_failing_never_takes_the_others_down(
    registered: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    registered["fraud"] = None
    registered["search"] = ArtifactError("meta.json at /srv/secret/models/search holds family 'fraud'")
    registered["forecasting"] = RuntimeError("disk on fire")
    store = ModelStore.from_registry(make_settings())
    entries = store.entries()
    assert entries["recsys"].status == "loaded"
    assert entries["fraud"].status == "missing" and "shelfwise train fraud" in (entries["fraud"].reason or "")
    # Clients read the kind of failure and an error id; the exception text and paths go to the log.
    search, forecasting = entries["search"].reason or "", entries["forecasting"].reason or ""
    assert entries["search"].status == "failed" and "artifact is unusable (error id" in search
    assert entries["forecasting"].status == "failed" and "RuntimeError (error id" in forecasting
    assert "/srv/secret" not in search and "disk on fire" not in forecasting
    for reason, detail in ((search, "/srv/secret/models/search"), (forecasting, "disk on fire")):
        error_id = reason.split("error id ")[1].split(";")[0]
        assert any(error_id in r.getMessage() and detail in r.getMessage() for r in caplog.records)
    assert not store.ready
    with pytest.raises(ModelUnavailableError, match="The 'fraud' model is not available: no 'champion'"):
        store.get("fraud")
    with pytest.raises(ModelUnavailableError, match="does not serve it"):
        store.get("unknown-family")


def test_a_failed_reload_keeps_serving_the_previous_model(registered: dict[str, object]) -> None:
    store = ModelStore.from_registry(make_settings())
    registered["recsys"] = RuntimeError("registry down")
    registered["search"] = "8"
    store.reload()
    recsys = store.entries()["recsys"]
    assert (recsys.status, recsys.version) == ("loaded", "7")
    assert "reload failed, still serving version 7" in (recsys.reason or "")
    assert store.get("search")[1] == "8"


def test_swap_is_one_reference_assignment(loaded_store: ModelStore) -> None:
    store = ModelStore.from_dirs({}, families=["recsys"])
    before = store.entries()
    new = ModelEntry("recsys", "loaded", model=object(), version="v2")
    store.swap(new)
    assert before["recsys"].status == "missing"  # an old snapshot never changes under a reader
    assert store.get("recsys") == (new.model, "v2")


def test_lifespan_loads_from_the_registry_and_reload_swaps(registered: dict[str, object]) -> None:
    registered["fraud"] = None
    app = create_app(make_settings())
    with TestClient(app) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["families"]["fraud"]["status"] == "missing"
        assert (
            client.post(
                "/v1/fraud/feedback",
                json={"transaction_id": "t", "is_fraud": False},
                headers=as_scope("checkout"),
            ).json()["model_version"]
            is None
        )
        registered["fraud"] = "3"
        registered["recsys"] = "9"
        response = client.post("/v1/admin/reload", headers=as_scope("admin"))
        assert response.status_code == 200
        families = response.json()["families"]
        assert families["fraud"] == {"status": "loaded", "version": "3", "reason": None, "from_cache": False}
        assert families["recsys"]["version"] == "9"
        assert client.get("/ready").status_code == 200
        rec = client.post("/v1/recommendations", json={}, headers=as_scope("storefront"))
        assert rec.json()["model_version"] == "9"


def test_from_dirs_reports_a_broken_directory(tmp_path: Path, model_dirs: dict[str, Path]) -> None:
    store = ModelStore.from_dirs({"recsys": tmp_path / "empty", "search": model_dirs["search"]})
    assert store.entries()["recsys"].status == "failed"
    assert "artifact is unusable (error id" in (store.entries()["recsys"].reason or "")
    assert store.entries()["search"].status == "loaded"
    # A directory holding another family's model is refused, not served under the wrong name.
    wrong = ModelStore.from_dirs({"fraud": model_dirs["search"]})
    assert wrong.entries()["fraud"].status == "failed"
