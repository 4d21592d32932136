"""`shelfwise train --dask`: the family jobs run as tasks on a Dask cluster (two worker processes),
and the registry ends up exactly as in-process training leaves it for the same data and seed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models import registry
from models.errors import DataValidationError
from models.settings import Settings
from training.cli import app
from training.dask_runner import WORK_SUBDIR, train_on_dask
from training.data import load_store

distributed = pytest.importorskip("distributed")
runner = CliRunner()
TRAINED = ("search", "fraud")  # the quick families of the small demo store; the others are skipped


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, as on a real cluster (no dashboard port taken)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local_cluster:
        yield local_cluster


@pytest.fixture()
def subset_dir(demo_dir: Path, tmp_path: Path) -> Path:
    """The small demo store with only the files search and fraud need."""
    target = tmp_path / "store"
    target.mkdir()
    for name in ("catalog", "search_judgments", "transactions"):
        shutil.copy(demo_dir / f"{name}.parquet", target)
    return target


def _train(data: Path, home: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> str:
    monkeypatch.setenv("SHELFWISE_HOME", str(home))
    result = runner.invoke(app, ["train", "all", "--data", str(data), "--seed", "3", *extra])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _registered(home: Path) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Per trained family: the registry rows and the champion's meta.json (params, metrics, data)."""
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    rows = registry.list_models(settings)
    out = {}
    for family in TRAINED:
        meta = json.loads((registry.fetch_alias(settings, family).path / "meta.json").read_text())
        kept = {k: meta[k] for k in ("model_type", "params", "data_window")}
        # Timings (recsys logs train_seconds_*) differ run to run on any path; the rest must not.
        kept["metrics"] = {k: v for k, v in meta["metrics"].items() if "seconds" not in k}
        listed = [
            {k: r[k] for k in ("version", "aliases", "primary_metric", "value")}
            for r in rows
            if r["family"] == family
        ]
        out[family] = (listed, kept)
    return out


@pytest.mark.slow
def test_dask_training_registers_what_in_process_training_does(
    cluster, subset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_text = _train(subset_dir, tmp_path / "local", monkeypatch)
    with distributed.Client(cluster, set_as_default=False) as observer:
        with distributed.get_task_stream(client=observer) as stream:
            dask_text = _train(
                subset_dir, tmp_path / "dask", monkeypatch, "--dask", cluster.scheduler_address
            )
    ran = {rec["key"].split("-")[2]: rec["worker"] for rec in stream.data}
    assert set(ran) == set(TRAINED) and set(ran.values()) <= set(cluster.scheduler_info["workers"])

    for text in (local_text, dask_text):
        assert "search v1" in text and "fraud v1" in text and "promoted to champion" in text
        assert "recsys skipped: needs events" in text and "forecasting skipped: needs sales" in text
    local, dask = _registered(tmp_path / "local"), _registered(tmp_path / "dask")
    assert dask == local
    assert local["fraud"][1]["metrics"]["average_precision"] > 0  # real metrics, not empty dicts
    assert local["search"][1]["metrics"]["ndcg_at_10"] > 0
    assert not any((tmp_path / "dask" / "dask-work").iterdir())  # MLflow keeps the only copy


@pytest.mark.slow
def test_a_worker_that_read_other_data_fails_the_run(cluster, subset_dir: Path, tmp_path: Path) -> None:
    needed = ["catalog", "search_judgments", "transactions"]
    store = load_store(subset_dir, only=needed)
    store.fingerprints["transactions"] = "0" * 64  # as if this process had read another file
    settings = Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    with pytest.raises(DataValidationError, match="read different data .* than this process"):
        train_on_dask(["fraud"], subset_dir, store, needed, settings, scheduler=cluster.scheduler_address)
    assert registry.list_models(settings) == []  # nothing registered
    assert not any((settings.home_dir / WORK_SUBDIR).iterdir())  # the work folder is cleaned up


def test_unreachable_scheduler_names_the_setting(
    subset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dask

    monkeypatch.setenv("SHELFWISE_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = runner.invoke(app, ["train", "search", "--data", str(subset_dir)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in text and "dask scheduler" in text


@pytest.mark.slow
def test_settings_trials_run_on_the_workers_and_choose_what_in_process_chooses(cluster) -> None:
    from training.tuning import DaskTrials, tune

    def suggest(trial):
        return {"a": trial.suggest_float("a", -3.0, 3.0), "b": trial.suggest_int("b", 0, 10)}

    def objective(params):  # a closure: shipped to the workers by value
        import os

        return -((params["a"] - 1.2) ** 2) - abs(params["b"] - 7) / 10 + 0 * os.getpid()

    kwargs = dict(direction="maximize", budget_s=120, max_trials=16, seed=11, defaults={"a": 0.0, "b": 0})
    local = tune(objective, suggest, **kwargs)
    with distributed.Client(cluster, set_as_default=False) as client:
        with distributed.get_task_stream(client=client) as stream:
            spread = tune(objective, suggest, executor=DaskTrials(client), **kwargs)
    assert spread.best_params == local.best_params and spread.best_value == local.best_value
    assert [t["params"] for t in spread.trials] == [t["params"] for t in local.trials]
    workers = {rec["worker"] for rec in stream.data if rec["key"].startswith("_timed_one_thread")}
    assert len(workers) == 2  # both workers evaluated trials


def _shoppers_folder(folder: Path, n_users: int = 800) -> Path:
    """Shoppers with one of three tastes buying over 60 days: enough for a validation split."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(n_users):
        for _ in range(int(rng.integers(4, 12))):
            item = int(rng.integers(0, 20)) * 3 + u % 3
            ts = pd.Timestamp("2026-01-01") + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 60)))
            rows.append((f"u{u}", f"i{item}", "purchase", ts))
    folder.mkdir()
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    events.to_parquet(folder / "events.parquet")
    pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(60)],
            "title": [f"thing {i}" for i in range(60)],
            "category": [f"C{i % 3}" for i in range(60)],
            "brand": "b",
            "price": 1.0,
            "in_stock": True,
            "created_at": pd.Timestamp("2025-01-01"),
        }
    ).to_parquet(folder / "catalog.parquet")
    return folder


@pytest.mark.slow
def test_a_family_task_spreads_its_settings_search_over_the_workers(cluster, tmp_path: Path):
    from training.dask_runner import fit_on_worker

    data = _shoppers_folder(tmp_path / "store")
    with distributed.Client(cluster, set_as_default=False) as client:
        with distributed.get_task_stream(client=client) as stream:
            fitted = client.submit(
                fit_on_worker, "recsys", str(data), ["events", "catalog"], str(tmp_path / "m"), 0, 20.0
            ).result()
    assert fitted.metrics["tuning_trials"] >= 2 and "trials" in fitted.tuning
    trials = [rec for rec in stream.data if rec["key"].startswith("_timed_one_thread")]
    assert len(trials) == fitted.metrics["tuning_trials"]  # every trial was a task of its own
    assert len({rec["worker"] for rec in trials}) == 2
