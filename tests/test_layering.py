"""Layering rules, checked on the AST: mlflow only in models/registry.py, fastapi only in serving/,
and no domain package imports another one (what two families share lives in a shared package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = {"recsys", "search", "fraud", "forecasting"}
SHARED = [
    "embedding",
    "metrics",
    "storage",
    "trees",
    "models",
]  # encoder, DCG, SQLite/Redis, trees, artifacts
PACKAGES = [*DOMAINS, *SHARED, "training", "serving"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layering(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    imported = _imports(path)
    if rel != "models/registry.py":
        assert "mlflow" not in imported, f"{rel} imports mlflow; only models/registry.py may"
    if not rel.startswith("serving/"):
        assert not imported & {"fastapi", "starlette"}, f"{rel} imports fastapi/starlette; only serving/ may"
    package = rel.split("/")[0]
    if package in DOMAINS:
        assert not imported & {"training", "serving"}, (
            f"{rel}: domain packages must not import training/serving"
        )
        others = imported & (DOMAINS - {package})
        assert not others, f"{rel} imports the domain package(s) {sorted(others)}; share through a package"
    if package in {"serving", "training"}:
        other = ({"serving", "training"} - {package}).pop()
        assert other not in imported, f"{rel} imports {other}; the two apps share only lower packages"
    if package in SHARED:
        assert not imported & (DOMAINS | {"training", "serving"}) or path.name == "families.py", (
            f"{rel}: a shared package imports no family, training or serving"
        )


def test_make_install_stays_quiet_about_packaging() -> None:
    """`make install` printed four 12-line setuptools warnings: the license table, the editable notice."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)  # an SPDX expression, not the deprecated table
    makefile = (root / "Makefile").read_text()
    assert "/BuildBackendWarning: Editable installation/,/with strategy, WheelFile/d" in makefile
    assert all(step in makefile for step in ("[1/3]", "[2/3]", "[3/3]"))
