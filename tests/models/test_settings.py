"""Settings: environment parsing, the key file form, and the documented .env.example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_parses_and_documents_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    example = ROOT / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.api_keys["change-me-admin"] == ["admin"]
    documented = {
        line.split("=", 1)[0].removeprefix("SHELFWISE_").lower()
        for line in example.read_text().splitlines()
        if line.startswith("SHELFWISE_")
    }
    assert documented == set(Settings.model_fields), "every setting appears in .env.example"


def test_keys_from_file_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"k1": ["storefront", "checkout"], "k2": "planner"}))
    monkeypatch.setenv("SHELFWISE_API_KEYS", f"@{keys}")
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.api_keys == {"k1": ["storefront", "checkout"], "k2": ["planner"]}
    assert s.tracking_uri == f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}"
    assert s.cache_dir == tmp_path / "home" / "cache"


def test_unknown_scope_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFWISE_API_KEYS", '{"k": ["superuser"]}')
    with pytest.raises(ValidationError, match="storefront"):
        Settings(_env_file=None)  # type: ignore[call-arg]
