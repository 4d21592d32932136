"""docs/OPERATIONS.md documents every setting, with the default and description the code has."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"


def settings_row(name: str) -> str:
    """The configuration-table row of one ``Settings`` field, as OPERATIONS.md must hold it."""
    field = Settings.model_fields[name]
    # Defaults that depend on where the command runs are written as what they are found from.
    found = {"api_keys": "{}", "home": ".shelfwise"}
    default = (
        found[name]
        if name in found
        else (field.default_factory() if field.default_factory else field.default)
    )  # type: ignore[call-arg]
    return f"| `SHELFWISE_{name.upper()}` | `{default}` | {field.description} |"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_configuration_reference(name: str) -> None:
    row = settings_row(name)
    assert row in DOC.read_text(), f"docs/OPERATIONS.md: add or update this configuration row:\n{row}"


def test_every_domain_metric_is_explained() -> None:
    from serving.metrics import DOMAIN_REGISTRY

    text = DOC.read_text()
    names = {metric.name for metric in DOMAIN_REGISTRY.collect()} | {"shelfwise_model_loaded"}
    missing = sorted(n for n in names if f"`{n}" not in text)
    assert not missing, f"explain these metrics in docs/OPERATIONS.md: {missing}"
