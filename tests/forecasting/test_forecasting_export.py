"""Bulk export of forecasts and reorder advice (the ``shelfwise export-forecasts`` command)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.export import forecast_tables, reorder_path, write_table
from models.errors import InvalidInputError
from training.cli import app


def test_tables_hold_every_series_forecast_and_advice(fitted):
    forecasts, advice = forecast_tables(fitted, horizon=10, lead_time=5)
    assert len(forecasts) == 3 * 10 and set(forecasts["level"]) == {fitted.level}
    assert len(advice) == 3 and (advice["lead_time"] == 5).all()
    pan = advice.set_index(["item_id", "store_id"]).loc[("a", "s1")]
    # Pure weekly pattern 1..7 from Monday; the forecast starts on a Monday.
    assert pan["lead_time_demand"] == pytest.approx(1 + 2 + 3 + 4 + 5)
    assert pan["suggested_order_quantity"] == pytest.approx(pan["order_up_to"])  # nothing on hand


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_exports_both_tables(fitted, tmp_path, suffix):
    model_dir = fitted.save(tmp_path / "model")
    out = tmp_path / "out" / f"forecasts{suffix}"
    result = CliRunner().invoke(
        app, ["export-forecasts", "--out", str(out), "--model-dir", str(model_dir), "--lead-time", "3"]
    )
    assert result.exit_code == 0, result.output
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    forecasts, advice = read(out), read(reorder_path(out))
    assert len(forecasts) == 3 * fitted.max_horizon
    assert {"item_id", "store_id", "date", "mean", "lower", "upper"} <= set(forecasts.columns)
    assert {"safety_stock", "reorder_point", "suggested_order_quantity"} <= set(advice.columns)
    assert (advice["lead_time"] == 3).all()


def test_bad_output_suffix_is_refused(fitted, tmp_path):
    with pytest.raises(InvalidInputError, match="parquet") as err:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx")
    assert err.value.field == "out"
    result = CliRunner().invoke(
        app,
        [
            "export-forecasts",
            "--out",
            str(tmp_path / "x.json"),
            "--model-dir",
            str(fitted.save(tmp_path / "m")),
        ],
    )
    assert result.exit_code == 2 and "--out must end in" in result.output
