"""Demand forecasts on real data: Walmart store x department weekly sales (Kaggle 2014).

Usage::

    .venv/bin/python benchmarks/forecast_walmart.py [DATASETS_DIR] [--stores N] [--max-series N]
        [--train-budgets 0 2] [--train-previous] [--objective l2] [--strategy recursive|direct|ensemble]
        [--seasonal-blend 0.5] [--seasonal-baseline regression|naive] [--denoise-rank K] [--stl]

``DATASETS_DIR`` defaults to ``$SHELFWISE_DATASETS``, then ``../shared/data`` next to the repo. It
must hold ``walmart-store-sales/`` (read in place, never copied).

Method (so numbers compare between runs):

- Series: every (Store, Dept) of ``train.parquet`` (3,331; ``--stores N`` keeps the first N
  stores). ``item_id`` = Dept, ``store_id`` = Store, weekly (W-FRI).
- Holdout: the last 39 weeks (the competition's horizon), one origin; everything before trains.
- Negative weekly sales (1,285 rows: returns exceed sales) are **clipped at 0 for training** --
  a return is not negative demand, and the data contract forbids negative quantities -- but
  every model is scored against the **raw** values, as Kaggle scored them.
- Scored cells are the (series, week) rows that exist in ``train.parquet`` after the cutoff, for
  series that existed at the cutoff (Kaggle scores existing rows only).
- WMAE: holiday weeks (``IsHoliday``) weigh 5, others 1. Coverage: share of actuals inside the
  80 % interval.
- The holiday flag is a calendar fact known in advance, so every forecast gets the holdout's
  ``IsHoliday`` from ``features.parquet`` as a future covariate. Nothing else from the future
  (no markdowns, temperature, CPI) is used.
- Baselines (statsforecast, fit on the same clipped history): seasonal naive (52 weeks) and
  AutoETS -- non-seasonal, because ETS cannot estimate a 52-week season (R's ets and
  statsforecast refuse m > 24).

The leading rows, "`shelfwise train` defaults", run the product as a store would: the training
weeks (clipped at 0, with the holiday flags) are written as a store folder's ``sales.parquet``,
``training.pipeline.fit_family`` runs the forecasting job with its defaults (its own validation
origins, all inside the training weeks, choose the per-store blends; ``--train-budgets`` gives
the settings search's minutes, 0 = none), ``models.loader.load_model`` loads the saved model and
``model.forecast(item, store_id=..., horizon=39)`` -- the server's query -- gives the holdout
forecasts. The job knows no future holiday flags (a store folder has no calendar).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from forecasting.backtest import run_backtest, score  # noqa: E402
from forecasting.global_model import GlobalForecaster  # noqa: E402
from forecasting.panel import build_panel  # noqa: E402
from forecasting.seasonal import BASELINES  # noqa: E402
from models.loader import load_model  # noqa: E402
from training.data import load_store  # noqa: E402
from training.jobs import forecasting as job  # noqa: E402
from training.pipeline import fit_family  # noqa: E402
from training.real_data import dataset_path  # noqa: E402

HOLDOUT = 39
# The training job's former setting for all weekly sales, now its fallback when the history has no
# validation origin (training.jobs.forecasting.DEFAULT_BLEND), chosen on the validation origins
# (benchmarks/forecast_walmart_validate.py): the recursive model blended equally with the seasonal
# regression (0.865 x seasonal naive there, against 0.981 for the model alone and 0.920 for the
# blend with the seasonal naive); docs/benchmarks/forecasting.md.
STRATEGY = "recursive"
SEASONAL_BLEND = float(job.DEFAULT_BLEND["W"]["regression"])
SEASONAL_BASELINE = "regression"
NAMES = {
    "model": "Shelfwise lgbm_global",
    "baseline_snaive": "seasonal naive (52 w)",
    "baseline_ets": "AutoETS (non-seasonal: m=52 > 24)",
    "baseline_stl": "STL(52) + AutoETS (extra, `--stl`)",
}


def load_sales(
    folder: Path, stores: int | None = None, max_series: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sales in the data contract's shape, the holiday calendar per store and week).

    ``stores`` keeps the first N stores; ``max_series`` then a seeded random sample of N series.
    """
    raw = pd.read_parquet(folder / "train.parquet")
    features = pd.read_parquet(folder / "features.parquet", columns=["Store", "Date", "IsHoliday"])
    if stores:
        keep = sorted(raw["Store"].unique())[:stores]
        raw, features = raw[raw["Store"].isin(keep)], features[features["Store"].isin(keep)]
    if max_series:
        pairs = raw[["Store", "Dept"]].drop_duplicates().sort_values(["Store", "Dept"])
        if len(pairs) > max_series:
            pairs = pairs.sample(max_series, random_state=seed)
        raw = raw.merge(pairs, on=["Store", "Dept"])
    sales = pd.DataFrame(
        {
            "item_id": raw["Dept"].astype(str),
            "store_id": raw["Store"].astype(str),
            "date": pd.to_datetime(raw["Date"]).astype("datetime64[ns]"),
            "quantity": raw["Weekly_Sales"].astype(float),
            "holiday": raw["IsHoliday"].astype("int8"),
        }
    )
    calendar = pd.DataFrame(
        {
            "store_id": features["Store"].astype(str),
            "date": pd.to_datetime(features["Date"]).astype("datetime64[ns]"),
            "holiday": features["IsHoliday"].astype(float),
        }
    )
    return sales.reset_index(drop=True), calendar


def run(
    folder: Path,
    *,
    stores: int | None = None,
    max_series: int | None = None,
    objective: str = "l2",
    strategy: str = STRATEGY,
    seasonal_blend: float = SEASONAL_BLEND,
    seasonal_baseline: str = SEASONAL_BASELINE,
    denoise_rank: int | None = None,
    seed: int = 0,
    stl: bool = False,
    train_budgets: tuple[float, ...] = (),
    train_previous: bool = False,
) -> dict:
    """Fit on all but the last 39 weeks, score the 39 weeks; returns metrics per model and timings.

    ``train_budgets`` adds a "`shelfwise train` defaults" row per settings-search budget (minutes).
    """
    sales, calendar = load_sales(folder, stores, max_series, seed)
    weeks = np.sort(sales["date"].unique())
    cutoff = pd.Timestamp(weeks[-HOLDOUT - 1])
    timings: dict[str, float] = {}

    def fit(history: pd.DataFrame, cut: pd.Timestamp) -> GlobalForecaster:
        start, cpu = time.perf_counter(), time.process_time()
        model = GlobalForecaster(
            freq="W-FRI",
            max_horizon=HOLDOUT,
            objective=objective,
            strategy=strategy,
            seasonal_blend=seasonal_blend,
            seasonal_baseline=seasonal_baseline,
            denoise_rank=denoise_rank,
            calibration_windows=3,
            calibration_step=2,
            random_state=seed,
        ).fit(history, calendar=calendar[calendar["date"] > cut])
        timings["fit_s"] = time.perf_counter() - start
        timings["fit_cpu_s"] = time.process_time() - cpu  # robust to a loaded machine
        return model

    start = time.perf_counter()
    backtest = run_backtest(
        sales, fit, horizon=HOLDOUT, cutoffs=[cutoff], level=0.8, freq="W-FRI", clip_history=True
    )
    timings["total_s"] = time.perf_counter() - start
    observed = sales.loc[sales["date"] > cutoff, ["item_id", "store_id", "date"]]
    cells = backtest.cells.merge(observed, on=["item_id", "store_id", "date"], how="inner")
    if stl:
        cells = pd.concat([cells, _stl_cells(sales, cells, cutoff)], ignore_index=True)
    jobs = {}
    runs = [(f"train_{b:g}", b, True) for b in train_budgets] + [
        ("train_previous", 0.0, False)
    ] * train_previous
    for key, budget, per_store in runs:
        job_cells, jobs[key] = run_job(
            folder,
            stores=stores,
            max_series=max_series,
            budget_minutes=budget,
            seed=seed,
            per_store=per_store,
        )
        if len(job_cells) != (cells["model"] == "model").sum():
            raise RuntimeError(f"the job's model scored {len(job_cells)} cells, the benchmark's {len(cells)}")
        cells = pd.concat([cells, job_cells], ignore_index=True)
    metrics, _ = score(cells, 0.8)
    return {
        "metrics": metrics,
        "jobs": jobs,
        "timings": timings,
        "series": int(sales.groupby(["item_id", "store_id"]).ngroups),
        "cells": int(len(cells) // cells["model"].nunique()),
        "cutoff": cutoff.date().isoformat(),
    }


def run_job(
    folder: Path,
    *,
    stores: int | None = None,
    max_series: int | None = None,
    budget_minutes: float = 0.0,
    seed: int = 0,
    per_store: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """The `shelfwise train` defaults on the training weeks, scored on the holdout (module docstring).

    ``per_store=False`` runs the job without validation origins, so it serves its fallback: the
    previous default, one blend (model and seasonal regression, 0.5 each) for every store.
    Returns the scored cells (model ``train_<budget>``, ``train_previous``) and the job's report.
    """
    sales, _ = load_sales(folder, stores, max_series, seed)
    weeks = np.sort(sales["date"].unique())
    cutoff = pd.Timestamp(weeks[-HOLDOUT - 1])
    past = sales[sales["date"] <= cutoff]
    with tempfile.TemporaryDirectory(prefix="shelfwise-walmart-") as tmp:
        (Path(tmp) / "store").mkdir()
        past.assign(quantity=past["quantity"].clip(lower=0)).to_parquet(Path(tmp) / "store" / "sales.parquet")
        store = load_store(Path(tmp) / "store", only=["sales"])
        start, cpu = time.perf_counter(), time.process_time()
        max_validation, job.MAX_VALIDATION = job.MAX_VALIDATION, job.MAX_VALIDATION if per_store else 0
        try:
            fitted = fit_family(
                "forecasting", store, Path(tmp) / "model", seed=seed, budget_s=budget_minutes * 60
            )
        finally:
            job.MAX_VALIDATION = max_validation
        info = {"fit_s": time.perf_counter() - start, "fit_cpu_s": time.process_time() - cpu}
        model = load_model(fitted.model_dir, family="forecasting")
    info.update({k: fitted.params.get(k) for k in ("validation_cutoffs", "backtest_cutoffs", "blends")})
    info["tuning"] = fitted.tuning
    m = fitted.metrics  # the job's own holdout, inside the training weeks
    info["own_holdout_wmae_ratio"] = m["wmae"] / m["baseline_snaive_wmae"]
    rows = []
    for item, store_id in (
        sales.loc[sales["date"] <= cutoff, ["item_id", "store_id"]].drop_duplicates().itertuples(index=False)
    ):
        for p in model.forecast(item, store_id=store_id, horizon=HOLDOUT):  # the server's query
            rows.append((item, store_id, pd.Timestamp(p.date), p.mean, p.lower, p.upper))
    forecast = pd.DataFrame(rows, columns=["item_id", "store_id", "date", "mean", "lower", "upper"])
    truth = sales.loc[sales["date"] > cutoff, ["item_id", "store_id", "date", "quantity", "holiday"]]
    cells = truth.merge(forecast, on=["item_id", "store_id", "date"], how="inner")
    cells = cells.assign(
        actual=cells["quantity"],
        weight=np.where(cells["holiday"] > 0, 5.0, 1.0),
        scale=1.0,  # MASE is not reported here
        model=f"train_{budget_minutes:g}" if per_store else "train_previous",
    )
    return cells.drop(columns=["quantity", "holiday"]), info


def _stl_cells(sales: pd.DataFrame, cells: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """An extra, stronger statistical baseline: STL (52 weeks) + AutoETS on the deseasonalised series."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS, Naive

    history = build_panel(sales.assign(quantity=sales["quantity"].clip(lower=0)), "W-FRI").upto(cutoff)
    model = MSTL(season_length=52, trend_forecaster=AutoETS(model="ZZN"))
    out = StatsForecast(models=[model], freq="W-FRI", n_jobs=1, fallback_model=Naive()).forecast(
        df=history.long()[["unique_id", "ds", "y"]], h=HOLDOUT, level=[80]
    )
    ids = out["unique_id"].to_numpy(int)
    forecast = pd.DataFrame(
        {
            "item_id": history.item_ids[ids],
            "store_id": history.store_ids[ids],
            "date": out["ds"].to_numpy(),
            "mean": out["MSTL"].to_numpy(float),
            "lower": out["MSTL-lo-80"].to_numpy(float),
            "upper": out["MSTL-hi-80"].to_numpy(float),
        }
    )
    truth = cells.loc[cells["model"] == "model"].drop(columns=["mean", "lower", "upper", "model"])
    return truth.merge(forecast, on=["item_id", "store_id", "date"], how="left").assign(model="baseline_stl")


def table(result: dict) -> str:
    """The markdown table of one run."""
    m = result["metrics"]
    snaive = m["baseline_snaive_wmae"]
    lines = [
        "| model | WMAE | WMAE / seasonal naive | MAE | RMSE | 80 % coverage |",
        "|---|---|---|---|---|---|",
    ]
    names = {key: _job_name(key) for key in result.get("jobs", {})} | NAMES
    for key, name in names.items():
        if key != "model" and f"{key}_wmae" not in m:
            continue
        prefix = "" if key == "model" else f"{key}_"
        wmae, mae, rmse, cov = (m[prefix + k] for k in ("wmae", "mae", "rmse", "coverage_80"))
        lines.append(f"| {name} | {wmae:,.0f} | {wmae / snaive:.3f} | {mae:,.0f} | {rmse:,.0f} | {cov:.3f} |")
    return "\n".join(lines)


def _job_name(key: str) -> str:
    if key == "train_previous":
        return "`shelfwise train`, previous default: one blend (model + regression, 0.5 each) for all stores"
    minutes = float(key.removeprefix("train_"))
    search = f", {minutes:g}-minute settings search" if minutes else ", no settings search"
    return f"`shelfwise train` defaults{search}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="?", default=None, help="folder holding walmart-store-sales/")
    parser.add_argument("--stores", type=int, default=None, help="keep only the first N stores")
    parser.add_argument("--max-series", type=int, default=None, help="a seeded sample of N series")
    parser.add_argument("--objective", default="l2", choices=["l1", "l2", "tweedie", "poisson"])
    parser.add_argument("--strategy", default=STRATEGY, choices=["recursive", "direct", "ensemble"])
    parser.add_argument("--seasonal-blend", type=float, default=SEASONAL_BLEND)
    parser.add_argument("--seasonal-baseline", default=SEASONAL_BASELINE, choices=BASELINES)
    parser.add_argument(
        "--denoise-rank", type=int, default=None, help="GlobalForecaster's denoise_rank (default: off)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stl", action="store_true", help="add the STL + AutoETS baseline (slower)")
    parser.add_argument(
        "--train-budgets",
        type=float,
        nargs="*",
        default=[0.0, 2.0],
        help="a `shelfwise train` defaults row per settings-search budget in minutes (none: no such row)",
    )
    parser.add_argument(
        "--train-previous",
        action="store_true",
        help="add the job's previous default (one blend for all stores)",
    )
    args = parser.parse_args()
    try:
        folder = dataset_path("walmart-store-sales", args.datasets)
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    result = run(
        folder,
        stores=args.stores,
        max_series=args.max_series,
        objective=args.objective,
        strategy=args.strategy,
        seasonal_blend=args.seasonal_blend,
        seasonal_baseline=args.seasonal_baseline,
        denoise_rank=args.denoise_rank,
        seed=args.seed,
        stl=args.stl,
        train_budgets=tuple(args.train_budgets),
        train_previous=args.train_previous,
    )
    print(
        f"\nWalmart weekly sales: {result['series']:,} series, cutoff {result['cutoff']}, "
        f"{HOLDOUT}-week holdout ({result['cells']:,} scored cells per model), objective {args.objective}, "
        f"strategy {args.strategy}, seasonal blend {args.seasonal_blend:.3f} ({args.seasonal_baseline}), "
        f"denoise rank {args.denoise_rank}\n"
    )
    print(table(result))
    t = result["timings"]
    print(
        f"\nShelfwise fit (training + calibration + precomputing {HOLDOUT} weeks): {t['fit_s']:.1f} s wall, "
        f"{t['fit_cpu_s']:.1f} s CPU; backtest incl. seasonal naive and AutoETS: {t['total_s']:.1f} s wall"
    )
    for key, info in result["jobs"].items():
        print(
            f"\n{_job_name(key)}: fit_family {info['fit_s']:.1f} s wall, {info['fit_cpu_s']:.1f} s CPU; "
            f"validation origins {info['validation_cutoffs']}, "
            f"the job's own holdout {info['backtest_cutoffs']} "
            f"(WMAE / seasonal naive there {info['own_holdout_wmae_ratio']:.3f}); "
            f"blends per store: {info['blends']}"
        )
        if info["tuning"]:
            print(f"  settings search: {info['tuning']}")


if __name__ == "__main__":
    main()
