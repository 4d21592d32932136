"""Hot swap against a real SQLite MLflow registry: promote, reload, refuse a corrupt version, roll back.

One registry per module (creating an MLflow SQLite database costs about 10 s); each test moves the
``recsys`` champion further and checks what the running server answers with.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_support import as_scope, make_settings

from models import registry
from models.settings import Settings
from serving.app import create_app
from serving.model_store import ModelEntry, ModelStore

FAMILIES = ["recsys", "forecasting"]


def _register(settings: Settings, family: str, model_dir: Path, *, promote: bool = True) -> str:
    reg = registry.log_and_register(
        settings,
        family=family,
        model_dir=model_dir,
        params={},
        metrics={"score": 0.5},
        primary_metric="score",
        greater_is_better=True,
        force_promote=promote,
    )
    return reg.version


@pytest.fixture(scope="module")
def reg_settings(tmp_path_factory: pytest.TempPathFactory, model_dirs: dict[str, Path]) -> Settings:
    """A registry holding version 1 of recsys and forecasting as champions."""
    settings = make_settings(
        home=tmp_path_factory.mktemp("hotswap-home"), families=FAMILIES, reload_interval_s=0
    )
    for family in FAMILIES:
        assert _register(settings, family, model_dirs[family]) == "1"
    return settings


@pytest.fixture()
def client(reg_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(reg_settings)) as test_client:
        yield test_client


def _trending_version(client: TestClient) -> str:
    response = client.get("/v1/trending", headers=as_scope("storefront"))
    assert response.status_code == 200, response.text
    return response.json()["model_version"]


def _reload(client: TestClient) -> dict[str, object]:
    response = client.post("/v1/admin/reload", headers=as_scope("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def _swaps(client: TestClient, outcome: str) -> float:
    text = client.get("/metrics").text
    found = re.search(rf'shelfwise_model_swaps_total{{family="recsys",outcome="{outcome}"}} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def _corrupt_copy(model_dir: Path, dest: Path) -> Path:
    shutil.copytree(model_dir, dest)
    for payload in dest.iterdir():
        if payload.name != "meta.json":
            payload.write_bytes(b"not an npz file")
    return dest


def test_promote_reload_then_corrupt_version_keeps_serving_then_rollback(
    client: TestClient, reg_settings: Settings, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    assert client.get("/ready").json()["families"]["recsys"]["version"] == "1"
    before = _trending_version(client)
    v2 = _register(reg_settings, "recsys", model_dirs["recsys"])
    body = _reload(client)
    assert body["outcomes"] == {"recsys": "swapped", "forecasting": "unchanged"}
    assert body["families"]["recsys"]["version"] == v2 and _trending_version(client) == v2 != before

    failures = _swaps(client, "failure")
    v3 = _register(reg_settings, "recsys", _corrupt_copy(model_dirs["recsys"], tmp_path / "bad"))
    body = _reload(client)
    assert body["outcomes"]["recsys"] == "rejected"
    ready = client.get("/ready")
    recsys = ready.json()["families"]["recsys"]
    assert ready.status_code == 200 and (recsys["status"], recsys["version"]) == ("loaded", v2)
    assert f"version {v3} was refused, still serving version {v2}" in recsys["reason"]
    assert _trending_version(client) == v2
    assert _swaps(client, "failure") == failures + 1
    # The cache pointer still names the good version: an offline restart never loads the bad one.
    pointer = reg_settings.cache_dir / "recsys" / "champion.json"
    assert json.loads(pointer.read_text())["version"] == v2
    offline = reg_settings.model_copy(update={"mlflow_tracking_uri": _unreachable(tmp_path)})
    with TestClient(create_app(offline)) as offline_client:
        ready = offline_client.get("/ready")
        families = ready.json()["families"]
        assert ready.status_code == 200 and families["recsys"]["version"] == v2
        assert families["recsys"]["from_cache"] and families["forecasting"]["from_cache"]
        assert _trending_version(offline_client) == v2
    # A server started now (registry up, alias on the broken v3) serves the cached good version.
    with TestClient(create_app(reg_settings)) as restarted:
        recsys = restarted.get("/ready").json()["families"]["recsys"]
        assert (recsys["status"], recsys["version"], recsys["from_cache"]) == ("loaded", v2, True)
        assert "aliased version was refused" in recsys["reason"]

    registry.promote(reg_settings, "recsys", v2)  # rollback: the poll or a reload picks it up
    body = _reload(client)
    assert body["outcomes"]["recsys"] == "unchanged"
    assert body["families"]["recsys"]["reason"] is None  # the refusal note went with the alias


def test_a_failed_version_is_not_retried_by_polls_but_is_by_reload(
    client: TestClient, reg_settings: Settings, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    serving = client.get("/ready").json()["families"]["recsys"]["version"]
    bad = _register(reg_settings, "recsys", _corrupt_copy(model_dirs["recsys"], tmp_path / "bad"))
    store = client.app.state.models
    assert store.refresh() == {"recsys": "rejected", "forecasting": "unchanged"}
    failures = _swaps(client, "failure")
    assert store.refresh()["recsys"] == "rejected"
    assert _swaps(client, "failure") == failures  # a poll does not load the bad version again
    assert store.refresh(force=True)["recsys"] == "rejected"
    assert _swaps(client, "failure") == failures + 1
    assert store.get("recsys")[1] == serving != bad
    registry.promote(reg_settings, "recsys", serving)


def _unreachable(tmp_path: Path) -> str:
    # A database path under a regular file: every registry call fails at once (no retries).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    return f"sqlite:///{blocker}/mlflow.db"


def test_registry_unreachable_keeps_serving_and_says_so(
    client: TestClient, reg_settings: Settings, tmp_path: Path
) -> None:
    store = client.app.state.models
    version = store.get("recsys")[1]
    store._probe = lambda family: registry.alias_version(  # type: ignore[method-assign]
        reg_settings.model_copy(update={"mlflow_tracking_uri": _unreachable(tmp_path)}), family
    )
    assert set(store.refresh().values()) == {"unreachable"}
    ready = client.get("/ready").json()["families"]["recsys"]
    assert ready["version"] == version and "registry unreachable" in ready["reason"]
    assert _trending_version(client) == version
    assert 'shelfwise_registry_checks_total{outcome="unreachable"}' in client.get("/metrics").text


def test_the_poller_notices_a_promotion_within_the_interval(
    reg_settings: Settings, model_dirs: dict[str, Path]
) -> None:
    settings = reg_settings.model_copy(update={"reload_interval_s": 0.2})
    app = create_app(settings)
    with TestClient(app) as test_client:
        old = _trending_version(test_client)
        new = _register(reg_settings, "recsys", model_dirs["recsys"])
        started = time.monotonic()
        while _trending_version(test_client) != new:
            assert time.monotonic() - started < 20, "the poller did not swap in the new champion"
            time.sleep(0.1)
        assert new != old
        registry.promote(reg_settings, "recsys", old)
        while _trending_version(test_client) != old:
            assert time.monotonic() - started < 40, "the poller did not roll back"
            time.sleep(0.1)


class _GatedRecommender:
    """Answers ``trending`` only once the test opens the gate (a request held in flight)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.gate = threading.Event()

    def trending(self, **kwargs: Any) -> Any:
        self.entered.set()
        assert self.gate.wait(10)
        return self.inner.trending(**kwargs)


def test_a_request_in_flight_finishes_on_the_model_it_started_with(loaded_store: ModelStore) -> None:
    inner, _ = loaded_store.get("recsys")
    gated = _GatedRecommender(inner)
    store = ModelStore.from_dirs({}, families=["recsys"])
    store.swap(ModelEntry("recsys", "loaded", model=gated, version="old"))
    with TestClient(create_app(make_settings(), model_store=store)) as client:
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(_trending_version, client)
            assert gated.entered.wait(10)
            store.swap(ModelEntry("recsys", "loaded", model=inner, version="new"))
            assert _trending_version(client) == "new"  # new requests see the swap at once
            gated.gate.set()
            assert in_flight.result(10) == "old"


def test_admin_models_lists_versions_and_promote_rolls_back_and_forth(
    client: TestClient, reg_settings: Settings, model_dirs: dict[str, Path]
) -> None:
    admin = as_scope("admin")
    serving = client.get("/ready").json()["families"]["forecasting"]["version"]
    newer = _register(reg_settings, "forecasting", model_dirs["forecasting"], promote=False)
    listed = client.get("/v1/admin/models", headers=admin)
    assert listed.status_code == 200, listed.text
    forecasting = listed.json()["families"]["forecasting"]
    assert forecasting["served_version"] == serving
    versions = {v["version"]: v for v in forecasting["versions"]}
    assert [v["version"] for v in forecasting["versions"]][0] == newer  # newest first
    assert "champion" in versions[serving]["aliases"] and versions[newer]["aliases"] == ["challenger"]
    assert versions[newer]["primary_metric"] == "score" and versions[newer]["value"] == 0.5

    promoted = client.post("/v1/admin/models/forecasting/promote", json={"version": newer}, headers=admin)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["outcome"] == "swapped"
    assert promoted.json()["families"]["forecasting"]["version"] == newer
    assert registry.alias_version(reg_settings, "forecasting") == newer
    # The hand-promoted challenger is no longer a challenger.
    after = client.get("/v1/admin/models", headers=admin).json()["families"]["forecasting"]["versions"]
    assert {v["version"]: v["aliases"] for v in after}[newer] == ["champion"]

    back = client.post("/v1/admin/models/forecasting/promote", json={"version": serving}, headers=admin)
    assert back.status_code == 200 and back.json()["families"]["forecasting"]["version"] == serving
    unknown = client.post("/v1/admin/models/forecasting/promote", json={"version": "999"}, headers=admin)
    assert unknown.status_code == 404 and "999" in unknown.json()["detail"]
    assert (
        client.post("/v1/admin/models/forecasting/promote", json={"version": "v2"}, headers=admin).status_code
        == 422
    )
    assert (
        client.post(
            "/v1/admin/models/forecasting/promote", json={"version": serving}, headers=as_scope("planner")
        ).status_code
        == 403
    )


def test_a_version_changed_after_training_is_refused_and_the_old_one_keeps_serving(
    client: TestClient, reg_settings: Settings, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    serving = client.get("/ready").json()["families"]["recsys"]["version"]
    source = tmp_path / "recsys"
    shutil.copytree(model_dirs["recsys"], source)
    tampered = _register(reg_settings, "recsys", source)
    _, mlflow_client = registry._client(reg_settings)
    run_id = mlflow_client.get_model_version("shelfwise-recsys", tampered).run_id
    stored = [p for p in reg_settings.home_dir.rglob("meta.json") if run_id in p.parts]
    assert stored, "the registered model was not found in the artifact store"
    meta = json.loads(stored[0].read_text())
    stored[0].write_text(json.dumps({**meta, "note": "edited after training"}))  # still loads
    body = _reload(client)
    assert body["outcomes"]["recsys"] == "rejected"
    recsys = client.get("/ready").json()["families"]["recsys"]
    assert recsys["version"] == serving and f"version {tampered} was refused" in recsys["reason"]
    assert _trending_version(client) == serving
    registry.promote(reg_settings, "recsys", serving)
