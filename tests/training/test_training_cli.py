"""The `shelfwise` CLI on a user's own folder: bad files, partial folders, the registry commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _catalog(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n)],
            "title": [f"{'steel' if i % 2 else 'ceramic'} pan {i}" for i in range(n)],
            "category": ["Kitchen > Cookware > Pans"] * n,
            "brand": ["Acme", "Ferro"] * (n // 2),
            "price": [10.0 + i for i in range(n)],
            "in_stock": [True] * n,
            "created_at": pd.Timestamp("2026-01-01"),
        }
    )


def test_bad_file_names_file_column_and_row(tmp_path: Path, home: Path) -> None:
    bad = _catalog().astype({"price": object})
    bad.loc[3, "price"] = "abc"
    bad.to_csv(tmp_path / "catalog.csv", index=False)
    result = runner.invoke(app, ["train", "search", "--data", str(tmp_path)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "catalog.csv" in text and "price" in text and "abc" in text


def test_partial_folder_trains_what_it_can_and_skips_the_rest(tmp_path: Path, home: Path) -> None:
    _catalog().to_parquet(tmp_path / "catalog.parquet")
    result = runner.invoke(app, ["train", "all", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "search v1" in text and "promoted to champion" in text
    assert "recsys skipped: needs events" in text
    assert "fraud skipped: needs transactions" in text
    assert "forecasting skipped: needs sales" in text
    listing = runner.invoke(app, ["models"])
    assert listing.exit_code == 0 and "search" in listing.output and "champion" in listing.output
    assert runner.invoke(app, ["promote", "search", "1"]).exit_code == 0
    wrong = runner.invoke(app, ["promote", "search", "9"])
    assert wrong.exit_code == 2 and "no version 9" in " ".join(wrong.output.split())
    unknown = runner.invoke(app, ["train", "weather", "--data", str(tmp_path)])
    assert unknown.exit_code == 2 and "expected one of" in unknown.output


def test_unknown_demo_scale_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo-data", "--out", str(tmp_path / "x"), "--scale", "huge"])
    assert result.exit_code == 2 and "small" in result.output and "medium" in result.output
