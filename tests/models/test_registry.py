"""MLflow registry glue against a throwaway SQLite store: register, champion rules, cache fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import registry
from models.artifact import write_meta
from models.errors import ModelUnavailableError
from models.settings import Settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]


def _model_dir(tmp_path: Path, name: str) -> Path:
    d = write_meta(tmp_path / name, family="recsys", model_type="popularity", format_version=1, params={})
    (d / "payload.json").write_text(f'"{name}"')
    return d


def _register(settings: Settings, d: Path, value: float, force: bool = False) -> registry.Registration:
    return registry.log_and_register(
        settings,
        family="recsys",
        model_dir=d,
        params={"seed": 0},
        metrics={"ndcg_at_10": value},
        primary_metric="ndcg_at_10",
        greater_is_better=True,
        force_promote=force,
    )


def test_champion_moves_only_when_better_and_cache_serves_offline(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _register(settings, _model_dir(tmp_path, "v1"), 0.10)
    assert (first.version, first.promoted, first.comparison["reason"]) == ("1", True, "no champion yet")
    worse = _register(settings, _model_dir(tmp_path, "v2"), 0.05)
    assert not worse.promoted and worse.previous_champion == "1"
    assert "not better" in worse.comparison["reason"]
    better = _register(settings, _model_dir(tmp_path, "v3"), 0.20)
    assert better.promoted and better.version == "3"
    forced = _register(settings, _model_dir(tmp_path, "v4"), 0.01, force=True)
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

    # Registry unreachable: serve the cached champion and say so.
    offline = settings.model_copy(update={"mlflow_tracking_uri": "http://127.0.0.1:9/unreachable"})
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    cached = registry.fetch_alias(offline, "recsys")
    assert cached.from_cache and cached.version == "3"


def test_missing_family_and_bad_version(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="no 'champion' version of shelfwise-fraud"):
        registry.fetch_alias(settings, "fraud")
    _register(settings, _model_dir(tmp_path, "v1"), 0.1)
    with pytest.raises(ModelUnavailableError, match="no version 7"):
        registry.promote(settings, "recsys", "7")
