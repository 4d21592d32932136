"""MLflow registry glue against a throwaway SQLite store: register, champion rules, cache fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import model_dir, register

from models import registry
from models.errors import ArtifactError, ModelUnavailableError
from models.settings import Settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]


def test_champion_moves_only_when_better_and_cache_serves_offline(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = register(settings, model_dir(tmp_path, "v1"), 0.10)
    assert (first.version, first.promoted) == ("1", True)
    assert first.comparison["reason"].startswith("no champion yet; beats popularity beyond noise")
    worse = register(settings, model_dir(tmp_path, "v2"), 0.05)
    assert not worse.promoted and worse.previous_champion == "1"
    assert "does not beat champion v1 beyond noise" in worse.comparison["reason"]
    assert registry.alias_version(settings, "recsys", registry.CHALLENGER) == "2"
    better = register(settings, model_dir(tmp_path, "v3"), 0.20)
    assert better.promoted and better.version == "3"
    assert "beats champion v1 beyond noise" in better.comparison["reason"]
    forced = register(settings, model_dir(tmp_path, "v4"), 0.01, force=True)
    assert forced.promoted

    art = registry.fetch_alias(settings, "recsys")
    assert art.version == "4" and (art.path / "payload.json").read_text() == '"v4"'
    assert art.path.is_relative_to(settings.cache_dir)
    # Artifacts live inside SHELFWISE_HOME, not the working directory.
    assert (settings.home_dir / "mlartifacts").is_dir()

    registry.promote(settings, "recsys", "3")  # rollback
    assert registry.fetch_alias(settings, "recsys").version == "3"
    rows = registry.list_models(settings)
    assert [r["version"] for r in rows] == ["4", "3", "2", "1"]
    assert rows[1]["aliases"] == ["champion"] and rows[1]["value"] == pytest.approx(0.20)
    assert rows[1]["ci_low"] < 0.20 < rows[1]["ci_high"] and rows[1]["n_cases"] == 500
    assert rows[2]["aliases"] == ["challenger"]

    # Registry unreachable: serve the cached champion and say so.
    offline = settings.model_copy(update={"mlflow_tracking_uri": "http://127.0.0.1:9/unreachable"})
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    cached = registry.fetch_alias(offline, "recsys")
    assert cached.from_cache and cached.version == "3"


def test_missing_family_and_bad_version(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="no 'champion' version of shelfwise-fraud"):
        registry.fetch_alias(settings, "fraud")
    register(settings, model_dir(tmp_path, "v1"), 0.1)
    with pytest.raises(ModelUnavailableError, match="no version 7"):
        registry.promote(settings, "recsys", "7")


def test_a_registered_model_whose_artifact_changed_after_training_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    from models.artifact import write_manifest

    reg = register(settings, model_dir(tmp_path, "v1"), 0.10)
    fetched = registry.fetch_alias(settings, "recsys")
    assert (fetched.path / "manifest.json").is_file()  # written at registration, logged with the run
    # Someone rewrites a payload in the cache and regenerates the manifest to match it: the digest
    # recorded with the training run no longer matches, so the registry refuses the copy.
    (fetched.path / "payload.json").write_text('"tampered"')
    write_manifest(fetched.path)
    with pytest.raises(ArtifactError, match="does not match the digest recorded with its training run"):
        registry.fetch_alias(settings, "recsys")
    assert reg.version == "1"
