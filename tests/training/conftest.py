"""Shared fixtures: the small demo store is generated once per session and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from training.data import load_store
from training.demo import generate_store
from training.store import StoreData


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo store (seed 42) as Parquet files. Read-only: copy it to change it."""
    folder = tmp_path_factory.mktemp("demo_small")
    generate_store(folder, seed=42, scale="small")
    return folder


@pytest.fixture(scope="session")
def demo_store(demo_dir: Path) -> StoreData:
    """The small demo store loaded and validated once (tests must not mutate its frames)."""
    return load_store(demo_dir)


@pytest.fixture(scope="session")
def demo_raw(demo_dir: Path) -> dict[str, pd.DataFrame]:
    """The demo files exactly as written (before loading)."""
    return {p.stem: pd.read_parquet(p) for p in sorted(demo_dir.glob("*.parquet"))}


@pytest.fixture
def store_dir(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo store that a test may change."""
    target = tmp_path / "store"
    shutil.copytree(demo_dir, target)
    return target


def _write(folder: Path, name: str, frame: pd.DataFrame, fmt: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.fixture
def write_frame():
    """``write_frame(folder, name, frame, fmt="csv")`` writes ``<folder>/<name>.<fmt>``."""
    return _write


@pytest.fixture
def tiny() -> dict[str, pd.DataFrame]:
    """A tiny valid store, every value as text (what a CSV export holds). Fresh per test."""
    return {
        "catalog": pd.DataFrame(
            {
                "item_id": ["1", "2", "3"],
                "title": ["Red Pan", "Spatula", "Shampoo"],
                "category": [
                    "Kitchen > Cookware > Pans",
                    "Kitchen > Utensils > Spatulas",
                    "Beauty > Hair > Shampoo",
                ],
                "brand": ["Acme", "Acme", "Lumina"],
                "price": ["10.5", "4", "3.99"],
                "in_stock": ["true", "false", "1"],
                "created_at": ["2026-01-01", "2026-01-02", "2026-01-03T10:00:00Z"],
            }
        ),
        "events": pd.DataFrame(
            {
                "user_id": ["u1", "u1", "u2"],
                "item_id": ["1", "2", "3"],
                "event_type": ["view", "add_to_cart", "purchase"],
                "timestamp": ["2026-02-01 10:00:00", "2026-02-01 10:01:00", "2026-02-02 09:00:00"],
            }
        ),
        "transactions": pd.DataFrame(
            {
                "transaction_id": ["t1", "t2"],
                "timestamp": ["2026-02-01T10:00:00", "2026-02-01T11:00:00"],
                "customer_id": ["u1", "u2"],
                "amount": ["12.5", "3"],
                "is_fraud": ["0", "1"],
            }
        ),
        "sales": pd.DataFrame(
            {
                "item_id": ["1", "1", "2"],
                "store_id": ["s1", "s1", "s1"],
                "date": ["2026-02-01", "2026-02-02", "2026-02-01"],
                "quantity": ["3", "0", "1.5"],
            }
        ),
        "search_judgments": pd.DataFrame(
            {"query": ["pan", "pan"], "item_id": ["1", "2"], "relevance": ["3", "1"]}
        ),
    }
