"""A deterministic, realistic demo store: ``generate_store(out_dir, seed=42, scale="small")``.

The generated files follow docs/DATA.md and carry real structure for every model family: shoppers
with category, brand and price tastes; long-tailed and trending item popularity; complementary
leaf categories bought in the same order; fraud patterns that need velocity and history features;
seasonal, promoted and holiday-driven sales; search judgments graded from the item attributes.
Everything is derived from ``seed`` and a fixed reference date, never from the clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import InvalidInputError
from training.demo.catalog import build_catalog, catalog_frame
from training.demo.events import build_events
from training.demo.judgments import build_judgments
from training.demo.sales import build_sales
from training.demo.shoppers import build_shoppers
from training.demo.transactions import build_transactions
from training.demo.world import REFERENCE_DATE, SCALES, Scale, build_taxonomy

__all__ = ["REFERENCE_DATE", "SCALES", "Scale", "build_frames", "generate_store"]

# Independent random streams per part, so changing one generator leaves the others' output alone.
_PARTS = ("catalog", "shoppers", "events", "transactions", "sales", "search_judgments", "catalog_text")


def _scale(scale: str) -> Scale:
    if scale not in SCALES:
        raise InvalidInputError(
            f"Unknown demo store scale {scale!r}; expected one of {sorted(SCALES)}",
            field="scale",
            value=scale,
        )
    return SCALES[scale]


def build_frames(
    *, seed: int = 42, scale: str = "small", timings: dict[str, float] | None = None
) -> dict[str, pd.DataFrame]:
    """Generate the demo store's frames in memory (file name -> frame), without writing them.

    Args:
        seed: random seed; the same seed and scale always give identical frames.
        scale: ``"small"`` (tests, about a second) or ``"medium"`` (the demo default).
        timings: when given, filled with seconds spent per part.

    Raises:
        InvalidInputError: ``scale`` is not one of ``SCALES``.
    """
    size = _scale(scale)
    streams = dict(zip(_PARTS, np.random.SeedSequence(seed).spawn(len(_PARTS)), strict=True))
    rng = {name: np.random.default_rng(s) for name, s in streams.items()}
    clock = timings if timings is not None else {}
    tick = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        clock[name] = round(now - tick, 3)
        tick = now

    tax = build_taxonomy()
    truth = build_catalog(rng["catalog"], size.n_items, tax)
    frames = {"catalog": catalog_frame(truth, tax, rng["catalog_text"])}
    lap("catalog")
    shoppers = build_shoppers(rng["shoppers"], size.n_users, truth, tax)
    frames["events"] = build_events(rng["events"], size.n_sessions, shoppers, truth, tax)
    lap("events")
    frames["transactions"] = build_transactions(
        rng["transactions"], size.n_transactions, size.n_customers, size.n_users, size.n_merchants
    )
    lap("transactions")
    frames["sales"] = build_sales(rng["sales"], truth, tax, size.n_sales_items, size.n_stores)
    lap("sales")
    frames["search_judgments"] = build_judgments(rng["search_judgments"], truth, tax, size.n_queries)
    lap("search_judgments")
    return frames


def generate_store(
    out_dir: str | Path, *, seed: int = 42, scale: str = "small", timings: dict[str, float] | None = None
) -> dict[str, int]:
    """Write the demo store as Parquet files into ``out_dir`` (created if needed).

    Writes ``catalog.parquet``, ``events.parquet``, ``transactions.parquet``, ``sales.parquet``
    and ``search_judgments.parquet``. The store is clean: every event names a catalog item
    (about 1% of them discontinued ones, listed out of stock), so loading it reports nothing to fix.

    Args:
        out_dir: destination folder; existing files of the same names are overwritten.
        seed: random seed; the same seed and scale give byte-identical files.
        scale: ``"small"`` (~300 items, ~12k events) or ``"medium"`` (~20k items, ~1.2M events).
        timings: when given, filled with seconds spent per part (``write`` for the Parquet files).

    Returns:
        Row counts per file name (without extension).

    Raises:
        InvalidInputError: ``scale`` is not one of ``SCALES``.
    """
    _scale(scale)  # fail before creating anything
    clock = timings if timings is not None else {}
    frames = build_frames(seed=seed, scale=scale, timings=clock)
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(out / f"{name}.parquet", index=False, engine="pyarrow")
    clock["write"] = round(time.perf_counter() - start, 3)
    return {name: len(frame) for name, frame in frames.items()}
