"""The `shelfwise` CLI on a user's own folder: bad files, partial folders, the registry commands."""

from __future__ import annotations

import json
import sys
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
    hint = next(line for line in result.output.splitlines() if line.startswith("MLflow:"))
    assert "ui --backend-store-uri sqlite:///" in hint  # one line, even when not a terminal
    assert f"{Path(sys.executable).with_name('mlflow')} ui" in hint  # the mlflow installed beside shelfwise
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


def test_a_demo_on_a_busy_port_stops_before_any_work_and_keeps_the_keys(home: Path) -> None:
    import json
    import socket

    from models.settings import Settings
    from training.commands import demo_keys

    keys, created = demo_keys(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    assert created and len(keys) == 5
    before = (home / "api_keys.json").read_text()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["demo", "--scale", "small", "--port", str(port)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert f"Port {port} on 127.0.0.1 is in use" in text and "--port" in text
    assert (home / "api_keys.json").read_text() == before  # the running server's keys are untouched
    assert not (home / "demo").exists() and not (home / "mlflow.db").exists()  # nothing was done
    assert {k: e["scopes"] for k, e in json.loads(before).items()} == keys


def test_demo_keys_are_reused_unless_new_ones_are_asked_for(home: Path) -> None:
    from models.settings import Settings
    from training.commands import demo_keys

    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    first, created = demo_keys(settings)
    again, created_again = demo_keys(settings)
    assert created and not created_again and again == first
    rotated, made = demo_keys(settings, rotate=True)
    assert made and not set(rotated) & set(first)
    assert sorted(map(sorted, rotated.values())) == [
        ["admin"],
        ["admin", "checkout", "planner", "storefront"],  # the console's key
        ["checkout"],
        ["planner"],
        ["storefront"],
    ]
    (home / "api_keys.json").write_text("{not json")
    repaired, remade = demo_keys(settings)
    assert remade and len(repaired) == 5
    assert oct((home / "api_keys.json").stat().st_mode & 0o777) == "0o600"


def test_serve_after_the_demo_uses_its_keys_unless_keys_are_configured(home: Path) -> None:
    from models.settings import Settings
    from training.commands import demo_keys, fallback_keys_file

    plain = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    assert fallback_keys_file(plain) is None  # no demo keys yet: nothing to fall back on
    keys, _ = demo_keys(plain)
    assert fallback_keys_file(plain) == home / "api_keys.json"
    served = Settings(_env_file=None, home=home, api_keys=f"@{fallback_keys_file(plain)}")  # type: ignore[call-arg]
    assert served.api_keys == keys  # what `shelfwise serve` then accepts
    configured = Settings(_env_file=None, home=home, api_keys={"k" * 30: ["admin"]})  # type: ignore[call-arg]
    assert fallback_keys_file(configured) is None


def test_promote_refuses_all_without_offering_it(home: Path) -> None:
    result = runner.invoke(app, ["promote", "all", "1"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "promote one family at a time" in text and "'recsys'" in text and "'all'" not in text.split(";")[1]


def test_the_home_is_found_up_the_tree_and_every_command_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHELFWISE_HOME", raising=False)
    project = tmp_path / "shop"
    deep = project / "notebooks" / "week1"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    result = runner.invoke(app, ["models"])
    text = " ".join(result.output.split())
    assert f"Shelfwise home: {deep / '.shelfwise'} (no .shelfwise folder in {deep} or above it" in text
    assert "No models registered yet in" in text
    assert not (deep / ".shelfwise").exists()  # listing made no empty MLflow store
    (project / ".shelfwise").mkdir()
    text = " ".join(runner.invoke(app, ["models"]).output.split())
    assert f"Shelfwise home: {project / '.shelfwise'} (the nearest above {deep})" in text
    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "elsewhere"))
    text = " ".join(runner.invoke(app, ["models"]).output.split())
    assert f"Shelfwise home: {tmp_path / 'elsewhere'} (SHELFWISE_HOME)" in text


def test_keys_are_created_listed_and_revoked_without_showing_secrets(home: Path) -> None:
    made = runner.invoke(app, ["keys", "create", "--name", "web", "--scope", "storefront"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("sw_storefront_") and len(secret) >= 24
    listing = runner.invoke(app, ["keys", "list"]).output
    assert "web" in listing and "storefront" in listing and secret not in listing
    again = runner.invoke(app, ["keys", "create", "--name", "web", "--scope", "admin"])
    assert again.exit_code == 2 and "a key named 'web' exists" in " ".join(again.output.split())
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "root"])
    assert bad.exit_code == 2 and "--scope must be one or more of" in " ".join(bad.output.split())
    assert runner.invoke(app, ["keys", "revoke", "web"]).exit_code == 0
    assert "web" not in runner.invoke(app, ["keys", "list"]).output.split("home:")[-1].split("\n", 1)[-1]
    missing = runner.invoke(app, ["keys", "revoke", "web"])
    assert missing.exit_code == 2 and "no key named 'web'" in missing.output


def test_meta_is_written_once_with_the_runs_metrics_and_data_window(tmp_path: Path) -> None:
    """fit_family writes meta.json in one go: the holdout metrics, intervals and the data window."""
    from training.data import load_store
    from training.demo import generate_store
    from training.pipeline import fit_family

    generate_store(tmp_path / "store", seed=1, scale="small")
    store = load_store(tmp_path / "store", only=["transactions"])
    run = fit_family("fraud", store, tmp_path / "model", budget_s=0)
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert meta["metrics"] == pytest.approx(run.metrics) and run.primary_metric in meta["metrics"]
    assert meta["data_window"]["fingerprint"] == run.fingerprint == store.fingerprint()
    assert run.status == "trained" and run.registration is None and run.version is None


def test_several_workers_need_a_shared_state(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHELFWISE_STATE_URL", raising=False)
    result = runner.invoke(app, ["serve", "--workers", "2"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "needs SHELFWISE_STATE_URL" in text, result.output
    assert runner.invoke(app, ["serve", "--workers", "0"]).exit_code == 2  # at least one
