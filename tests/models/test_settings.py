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
    assert settings.api_keys == {}  # keys come from `shelfwise keys create`, never from the example
    documented = {
        line.split("=", 1)[0].removeprefix("SHELFWISE_").lower()
        for line in example.read_text().splitlines()
        if line.startswith("SHELFWISE_")
    }
    assert documented == set(Settings.model_fields), "every setting appears in .env.example"


def test_keys_from_file_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys.json"
    k1, k2, k3 = "k1" + "x" * 30, "k2" + "y" * 30, "k3" + "z" * 30
    named = {"scopes": ["admin"], "name": "ops", "created": "2026-12-07T00:00:00+00:00"}
    keys.write_text(json.dumps({k1: ["storefront", "checkout"], k2: "planner", k3: named}))
    monkeypatch.setenv("SHELFWISE_API_KEYS", f"@{keys}")
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.api_keys == {k1: ["storefront", "checkout"], k2: ["planner"], k3: ["admin"]}
    assert s.tracking_uri == f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}"
    assert s.cache_dir == tmp_path / "home" / "cache"


@pytest.mark.parametrize(
    ("key", "message"),
    [("short-key", "has 9 characters; keys need at least 24"), ("change-me-admin-0123456789", "placeholder")],
)
def test_short_and_placeholder_keys_are_refused(key: str, message: str) -> None:
    from serving.auth import ApiKeyAuth

    with pytest.raises(ValueError, match=message) as refused:
        ApiKeyAuth({key: ["admin"]})  # what the server builds at start: it refuses to start
    assert key not in str(refused.value)  # the secret is not echoed, only its first characters


def test_unknown_scope_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFWISE_API_KEYS", '{"k-0123456789abcdefghijklmn": ["superuser"]}')
    with pytest.raises(ValidationError, match="storefront"):
        Settings(_env_file=None)  # type: ignore[call-arg]
