"""`shelfwise train` promotes only what beats noise: seeds, tiny stores, popularity-shaped stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models import registry
from models.settings import Settings
from training.cli import app

runner = CliRunner()


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _train(data: Path, *extra: str) -> str:
    result = runner.invoke(app, ["train", "recsys", "--data", str(data), *extra])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _recsys_only(demo_dir: Path, target: Path) -> Path:
    target.mkdir()
    for name in ("catalog", "events"):
        shutil.copy(demo_dir / f"{name}.parquet", target)
    return target


@pytest.mark.slow
def test_the_same_data_with_another_seed_is_not_promoted_on_noise(demo_dir: Path, tmp_path: Path, home: Path):
    store = _recsys_only(demo_dir, tmp_path / "store")
    first = _train(store)
    assert "v1" in first and "promoted to champion" in first and "beats popularity beyond noise" in first
    assert "95% CI" in first  # the summary prints the interval
    second = _train(store, "--seed", "1")
    assert "registered as challenger" in second and "does not beat champion v1 beyond noise" in second
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    assert registry.alias_version(settings, "recsys") == "1"
    assert registry.alias_version(settings, "recsys", registry.CHALLENGER) == "2"
    listing = " ".join(runner.invoke(app, ["models"]).output.split())
    assert "challenger" in listing and "[" in listing  # the interval column
    forced = _train(store, "--seed", "1", "--promote")
    assert "promoted to champion (forced with --promote)" in forced


def _tiny_store(folder: Path, n_users: int = 30) -> Path:
    rng = np.random.default_rng(0)
    items = [f"i{i}" for i in range(40)]
    rows = []
    for u in range(n_users):
        for step in range(6):
            ts = pd.Timestamp("2026-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)) + step)
            rows.append((f"u{u}", items[int(rng.integers(0, 40))], "purchase", ts))
    folder.mkdir()
    pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"]).to_parquet(
        folder / "events.parquet"
    )
    pd.DataFrame(
        {
            "item_id": items,
            "title": [f"thing {i}" for i in range(40)],
            "category": "All",
            "brand": "unknown",
            "price": 1.0,
            "in_stock": True,
            "created_at": pd.Timestamp("2025-01-01"),
        }
    ).to_parquet(folder / "catalog.parquet")
    return folder


def test_a_tiny_store_is_trained_but_not_promoted_and_the_cli_says_why(tmp_path: Path, home: Path):
    text = _train(_tiny_store(tmp_path / "tiny"))
    assert "registered as challenger" in text
    assert "shoppers could be evaluated; at least 100 are needed" in text
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    assert registry.alias_version(settings, "recsys") is None


def test_where_popularity_is_best_nothing_worse_than_it_becomes_champion(tmp_path: Path, home: Path):
    """Everyone buys the globally popular items in popularity order: nothing personal to learn."""
    rng = np.random.default_rng(1)
    items = [f"i{i}" for i in range(200)]
    p = 1.0 / np.arange(1, 201) ** 1.5
    rows = []
    for u in range(1500):
        for step, item in enumerate(rng.choice(200, size=6, replace=False, p=p / p.sum())):
            ts = pd.Timestamp("2026-01-01") + pd.Timedelta(days=int(rng.integers(0, 90)), hours=step)
            rows.append((f"u{u}", items[int(item)], "purchase", ts))
    folder = tmp_path / "popular"
    folder.mkdir()
    pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"]).to_parquet(
        folder / "events.parquet"
    )
    _tiny_store(tmp_path / "cat").joinpath("catalog.parquet").rename(folder / "catalog.parquet")
    catalog = pd.read_parquet(folder / "catalog.parquet")
    catalog = pd.concat(
        [catalog.assign(item_id=items[:40])]
        + [catalog.assign(item_id=items[i : i + 40]) for i in range(40, 200, 40)]
    )
    catalog.to_parquet(folder / "catalog.parquet")
    text = _train(folder)
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    run = registry.list_models(settings)[0]
    if registry.alias_version(settings, "recsys") == "1":  # promoted: it must have beaten popularity
        assert "beats popularity beyond noise" in text
    else:
        assert "does not beat the popularity baseline beyond noise" in text
    assert run["n_cases"] >= 100


def test_the_cli_says_when_the_store_is_too_small_for_a_settings_search(tmp_path: Path, home: Path):
    text = _train(_tiny_store(tmp_path / "tiny"), "--budget-minutes", "0.5")
    assert "settings search: skipped: the validation split has" in text


@pytest.mark.slow
def test_on_newer_data_the_served_champion_is_re_scored_on_the_shoppers_it_has_not_seen(
    demo_dir: Path, tmp_path: Path, home: Path
):
    """v1 trained on all but the last 8 weeks, v2 on everything: v1, as served, scored on v2's holdout."""
    full = _recsys_only(demo_dir, tmp_path / "full")
    older = _recsys_only(demo_dir, tmp_path / "older")
    events = pd.read_parquet(full / "events.parquet")
    stamps = pd.to_datetime(events["timestamp"])
    events[stamps <= stamps.max() - pd.Timedelta(days=56)].to_parquet(older / "events.parquet")
    _train(older)
    text = _train(full)
    assert "shoppers newer than its training data" in text, text  # compared on the new cases
    assert "champion v1" in text
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    _, client = registry._client(settings)
    v2 = client.get_model_version(registry.model_name("recsys"), "2")
    names = [a.path for a in client.list_artifacts(v2.run_id, "evaluation")]
    assert "evaluation/champion-v1.npz" in names  # the evidence the gate decided on
    run = client.get_run(v2.run_id)
    assert "re-scored" in run.data.params["champion_rescore"]


@pytest.mark.slow
def test_without_new_cases_the_champion_is_not_re_scored_and_the_cli_says_so(
    demo_dir: Path, tmp_path: Path, home: Path
):
    """The same period with a tenth of the shoppers dropped: another holdout, but nothing newer than v1."""
    store = _recsys_only(demo_dir, tmp_path / "store")
    _train(store)
    events = pd.read_parquet(store / "events.parquet")
    users = sorted(events["user_id"].unique())
    events[~events["user_id"].isin(users[::10])].to_parquet(store / "events.parquet")
    _train(store)
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    _, client = registry._client(settings)
    v2 = client.get_model_version(registry.model_name("recsys"), "2")
    note = client.get_run(v2.run_id).data.params["champion_rescore"]
    assert note.startswith("champion v1 was not re-scored: 0 of the"), note
    names = [a.path for a in client.list_artifacts(v2.run_id, "evaluation")]
    assert "evaluation/champion-v1.npz" not in names
