"""Every series' forecast and reorder advice as flat tables, for ERP import (Parquet or CSV)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.inventory import advise
from models.errors import InvalidInputError

FORMATS = (".parquet", ".csv")


def forecast_tables(
    model: Any,
    *,
    horizon: int | None = None,
    lead_time: int = 7,
    service_level: float = 0.95,
    review_period: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(forecasts, reorder advice) of every series of ``model``.

    Args:
        model: a fitted forecaster (``predict``, ``forecast``, ``level``, ``max_horizon``).
        horizon: periods of forecast per series (default: the model's ``max_horizon``).
        lead_time, service_level, review_period: as ``forecasting.inventory.reorder_advice``;
            the advice assumes nothing on hand (``suggested_order_quantity`` is then the
            order-up-to level; the ERP subtracts its own inventory position).

    Returns:
        forecasts: item_id, store_id, date, mean, lower, upper, level; advice: item_id,
        store_id and the ``ReorderAdvice`` fields.
    """
    forecasts = model.predict(horizon or int(model.max_horizon)).assign(level=float(model.level))
    keys = forecasts[["item_id", "store_id"]].drop_duplicates()
    rows = []
    for item_id, store_id in keys.itertuples(index=False):
        advice = advise(
            model,
            item_id,
            store_id=store_id,
            lead_time=lead_time,
            service_level=service_level,
            review_period=review_period,
        )
        rows.append({"item_id": item_id, "store_id": store_id, **asdict(advice)})
    return forecasts, pd.DataFrame(rows)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as Parquet or CSV, by the file's suffix.

    Raises:
        InvalidInputError: another suffix.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InvalidInputError(
            f"--out must end in one of {list(FORMATS)}, got {path.name!r}", field="out", value=str(path)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def reorder_path(path: str | Path) -> Path:
    """Where the advice goes next to the forecasts: ``forecasts.parquet`` -> ``forecasts_reorder.parquet``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_reorder{path.suffix}")
