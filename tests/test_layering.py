"""Layering rules, checked on the AST: mlflow only in models/registry.py, fastapi only in serving/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["recsys", "search", "fraud", "forecasting", "training", "models", "serving"]


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
    if rel.split("/")[0] in {"recsys", "search", "fraud", "forecasting"}:
        assert not imported & {"training", "serving"}, (
            f"{rel}: domain packages must not import training/serving"
        )


def test_no_module_over_400_lines() -> None:
    big = {
        p.relative_to(ROOT).as_posix(): n for p in _modules() if (n := len(p.read_text().splitlines())) > 400
    }
    assert not big, f"split these modules along a seam: {big}"


def test_make_install_stays_quiet_about_packaging() -> None:
    """`make install` printed four 12-line setuptools warnings: the license table, the editable notice."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)  # an SPDX expression, not the deprecated table
    makefile = (root / "Makefile").read_text()
    assert "/BuildBackendWarning: Editable installation/,/with strategy, WheelFile/d" in makefile
    assert all(step in makefile for step in ("[1/3]", "[2/3]", "[3/3]"))
