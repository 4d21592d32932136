"""Validation origins inside the Walmart training history, for choosing settings without the holdout.

Usage::

    .venv/bin/python benchmarks/forecast_walmart_validate.py [DATASETS_DIR] [--denoise-rank K ...]
        [--denoise-target K ...] [--seasonal-blend W ... [--seasonal-baseline naive|regression]]
        [--stores N]

Method (docs/benchmarks/forecasting.md, "validation"): three origins before the 39-week holdout,
2011-04-29 + 26 weeks, 2011-07-29 + 26 and 2011-10-28 + 13 (the holdout starts 2012-02-03, so no
window reaches it). At each origin the model is trained on the clipped sales up to the origin
only and forecasts the window; the point forecast is scored (WMAE, holiday weeks x 5, raw
actuals, the (series, week) rows that exist in ``train.parquet``) and divided by the seasonal
naive's WMAE on the same cells. Intervals are not calibrated here (the early origins have too
little history for the calibration windows); only the mean is compared.

Variants: the default model; ``--denoise-rank K`` (the model's ``denoise_rank``: the rank-K
denoised lag 52 in place of the raw one, raw target); ``--denoise-target K`` (experiment: train
on and forecast the rank-K denoised history itself, target included); ``--seasonal-blend W`` (the
model's ``seasonal_blend=W`` with ``seasonal_baseline``, default ``regression``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from benchmarks.forecast_walmart import load_sales  # noqa: E402
from forecasting import denoise, seasonal  # noqa: E402
from forecasting.global_model import GlobalForecaster  # noqa: E402
from forecasting.panel import build_panel, future_covariates  # noqa: E402
from training.real_data import dataset_path  # noqa: E402

ORIGINS = (("2011-04-29", 26), ("2011-07-29", 26), ("2011-10-28", 13))
SEASON = 52


def window_forecasts(
    sales: pd.DataFrame,
    calendar: pd.DataFrame,
    origin: pd.Timestamp,
    horizon: int,
    variant: tuple[str, float],
    seed: int = 0,
    baseline: str = "regression",
) -> tuple[pd.DataFrame, float]:
    """Model and seasonal naive means for ``horizon`` weeks after ``origin``; fit CPU seconds."""
    past = sales[sales["date"] <= origin]
    raw = panel = build_panel(past.assign(quantity=past["quantity"].clip(lower=0)), "W-FRI")
    kind, value = variant
    model = GlobalForecaster(
        freq="W-FRI",
        max_horizon=horizon,
        denoise_rank=int(value) if kind == "feature" else None,
        seasonal_blend=value if kind == "blend" else 0.0,
        seasonal_baseline=baseline,
        random_state=seed,
    )
    model._check_params()
    if kind == "target":
        panel = replace(panel, values=denoise.low_rank(panel.values, panel.item_ids, int(value)))
    cpu = time.process_time()
    future = future_covariates(panel, horizon, calendar[calendar["date"] > origin])
    mean = model._predict(model._train(panel), panel, future, clip=True)
    cpu = time.process_time() - cpu
    naive = seasonal.seasonal_naive(raw.values, horizon, SEASON)
    dates = panel.future_dates(horizon)
    n = len(panel.item_ids)
    frame = pd.DataFrame(
        {
            "item_id": np.repeat(panel.item_ids, horizon),
            "store_id": np.repeat(panel.store_ids, horizon),
            "date": np.tile(dates, n),
            "model": mean.ravel(),
            "naive": naive.ravel(),
        }
    )
    return frame, cpu


def score(sales: pd.DataFrame, frame: pd.DataFrame) -> float:
    """WMAE of the model / WMAE of the seasonal naive on the observed cells."""
    cells = sales[["item_id", "store_id", "date", "quantity", "holiday"]].merge(
        frame, on=["item_id", "store_id", "date"], how="inner"
    )
    weight = np.where(cells["holiday"] > 0, 5.0, 1.0)
    err = {k: (weight * (cells["quantity"] - cells[k]).abs()).sum() for k in ("model", "naive")}
    return float(err["model"] / err["naive"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="?", default=None, help="folder holding walmart-store-sales/")
    parser.add_argument("--stores", type=int, default=None, help="keep only the first N stores")
    parser.add_argument("--seed", type=int, default=0, help="the model's random_state")
    parser.add_argument("--no-default", action="store_true", help="skip the default model")
    parser.add_argument("--denoise-rank", type=int, nargs="*", default=[], help="feature variant ranks")
    parser.add_argument("--denoise-target", type=int, nargs="*", default=[], help="target variant ranks")
    parser.add_argument("--seasonal-blend", type=float, nargs="*", default=[], help="blend variant weights")
    parser.add_argument("--seasonal-baseline", default="regression", choices=seasonal.BASELINES)
    args = parser.parse_args()
    try:
        folder = dataset_path("walmart-store-sales", args.datasets)
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    sales, calendar = load_sales(folder, args.stores)
    variants: list[tuple[str, float]] = [] if args.no_default else [("default", 0)]
    variants += [("feature", k) for k in args.denoise_rank] + [("target", k) for k in args.denoise_target]
    variants += [("blend", w) for w in args.seasonal_blend]
    print("| variant (validation) | " + " | ".join(o[5:] for o, _ in ORIGINS) + " | mean | fit CPU s |")
    print("|---|" + "---|" * (len(ORIGINS) + 2))
    for kind, value in variants:
        ratios, cpu = [], 0.0
        for origin, horizon in ORIGINS:
            cut = pd.Timestamp(origin)
            variant = (kind, value)
            frame, seconds = window_forecasts(
                sales, calendar, cut, horizon, variant, args.seed, args.seasonal_baseline
            )
            ratios.append(score(sales, frame))
            cpu += seconds
        name = {
            "default": "default",
            "feature": f"denoise_rank={value:g}",
            "blend": f"seasonal_blend={value:g}, {args.seasonal_baseline}",
        }.get(kind, f"denoised target, rank {value:g}")
        cells = " | ".join(f"{r:.3f}" for r in ratios)
        print(f"| {name} | {cells} | {np.mean(ratios):.3f} | {cpu:.0f} |", flush=True)


if __name__ == "__main__":
    main()
