"""Figures every training run logs to MLflow (``evaluation/figures/*.png``): look, don't read.

Drawn headless (matplotlib's Agg backend) from what the job already computed: the holdout's
per-case evaluation, its metrics and, where a family needs more, ``TrainResult.figure_data``.

- recsys: NDCG@10 of each candidate source alone, of the merged and re-ranked list and of the
  baselines; catalog coverage.
- search: the distribution of per-query NDCG@10, the model against BM25.
- fraud: precision-recall curve against the raw-column model, a reliability (calibration)
  diagram, the score histogram by label, and the model's top feature importances.
- forecasting: holdout backtests of sample series with their prediction intervals, and the
  interval coverage per horizon step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation import Evaluation

log = logging.getLogger(__name__)
FIGURES_SUBDIR = "figures"


def write_figures(family: str, result: Any, folder: Path) -> list[Path]:
    """Draw ``family``'s figures for a job's ``TrainResult`` into ``folder/figures``.

    A figure that cannot be drawn (too little data, a model without that attribute) is skipped
    with a log line: figures never fail a training run.
    """
    import matplotlib

    matplotlib.use("Agg")
    out = folder / FIGURES_SUBDIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in DRAWERS.get(family, {}).items():
        try:
            path = out / f"{name}.png"
            if draw(result, path):
                written.append(path)
        except Exception as exc:  # noqa: BLE001 - a figure is a report, never a reason to fail
            log.warning("%s: figure %s not drawn (%s: %s)", family, name, type(exc).__name__, exc)
    return written


def _save(fig: Any, path: Path) -> bool:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _figure(width: float = 6.0, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


# ---------------------------------------------------------------------------------- recsys
def recsys_stages(result: Any, path: Path) -> bool:
    metrics = result.metrics
    names = sorted(
        k.removeprefix("stage_").removesuffix("_ndcg_at_10")
        for k in metrics
        if k.startswith("stage_") and k.endswith("_ndcg_at_10")
    )
    rows = [
        (f"source: {n}" if n != "reranked" else "merged + re-ranked", metrics[f"stage_{n}_ndcg_at_10"])
        for n in names
    ]
    rows += [("served (after rules)", metrics["ndcg_at_10"])]
    rows += [
        (f"baseline: {b}", metrics[f"baseline_{b}_ndcg_at_10"])
        for b in ("popularity", "random")
        if f"baseline_{b}_ndcg_at_10" in metrics
    ]
    fig, ax = _figure(6.5, 0.4 * len(rows) + 1.4)
    labels, values = zip(*rows, strict=True)
    ax.barh(range(len(rows)), values, color=["C0" if "baseline" not in lab else "C7" for lab in labels])
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("holdout NDCG@10")
    coverage = metrics.get("coverage")
    ax.set_title(
        "Where recommendation quality comes from"
        + (f" (catalog coverage {coverage:.0%})" if coverage is not None else "")
    )
    return _save(fig, path)


# ---------------------------------------------------------------------------------- search
def search_queries(result: Any, path: Path) -> bool:
    evaluation: Evaluation | None = result.evaluation
    if evaluation is None or "bm25" not in evaluation.rows:
        return False
    fig, ax = _figure()
    bins = np.linspace(0, 1, 21)
    for row, color in (("model", "C0"), ("bm25", "C7")):
        values = evaluation.rows[row]
        ax.hist(values, bins=bins, alpha=0.6, color=color, label=f"{row} (mean {values.mean():.3f})")
    ax.set_xlabel("NDCG@10 per judged query")
    ax.set_ylabel("queries")
    ax.set_title(f"Search quality over {evaluation.n_cases} held-out queries")
    ax.legend()
    return _save(fig, path)


# ---------------------------------------------------------------------------------- fraud
def _fraud_eval(result: Any) -> Evaluation | None:
    evaluation: Evaluation | None = result.evaluation
    return evaluation if evaluation is not None and evaluation.labels is not None else None


def _scored(result: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The model's holdout scores and the 0/1 labels, or None without a labelled evaluation."""
    evaluation = _fraud_eval(result)
    if evaluation is None or evaluation.labels is None:
        return None
    return evaluation.rows["model"], evaluation.labels


def fraud_precision_recall(result: Any, path: Path) -> bool:
    evaluation = _fraud_eval(result)
    if evaluation is None or evaluation.labels is None:
        return False
    from sklearn.metrics import precision_recall_curve

    fig, ax = _figure()
    for row, color in (("model", "C0"), ("raw", "C7")):
        if row in evaluation.rows:
            precision, recall, _ = precision_recall_curve(evaluation.labels, evaluation.rows[row])
            ax.plot(recall, precision, color=color, label=f"{row} (AP {evaluation.metric(row):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"Holdout precision-recall, {int(evaluation.labels.sum())} frauds")
    ax.legend()
    return _save(fig, path)


def fraud_calibration(result: Any, path: Path) -> bool:
    if (scored := _scored(result)) is None:
        return False
    scores, labels = scored
    edges = np.quantile(scores, np.linspace(0, 1, 11))
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, 9)
    mean_score = [scores[which == b].mean() for b in range(10) if (which == b).any()]
    fraud_rate = [labels[which == b].mean() for b in range(10) if (which == b).any()]
    fig, ax = _figure(4.5, 4.0)
    ax.plot([0, 1], [0, 1], color="C7", linestyle="--", label="perfectly calibrated")
    ax.plot(mean_score, fraud_rate, marker="o", label="model (score deciles)")
    top = max(max(mean_score), max(fraud_rate)) * 1.05
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed fraud rate")
    ax.set_title("Reliability diagram (holdout)")
    ax.legend()
    return _save(fig, path)


def fraud_scores(result: Any, path: Path) -> bool:
    if (scored := _scored(result)) is None:
        return False
    scores, labels = scored
    fig, ax = _figure()
    bins = np.linspace(0, 1, 41)
    ax.hist(scores[labels == 0], bins=bins, alpha=0.6, color="C0", label="genuine", density=True)
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, color="C3", label="fraud", density=True)
    ax.set_yscale("log")
    ax.set_xlabel("fraud score")
    ax.set_ylabel("density (log)")
    ax.set_title("Holdout scores by label")
    ax.legend()
    return _save(fig, path)


def fraud_importances(result: Any, path: Path) -> bool:
    booster = getattr(result.model, "booster_", None)
    names = getattr(result.model, "feature_names_", None)
    if booster is None or not names:
        return False
    gain = np.asarray(booster.feature_importance(importance_type="gain"), dtype=float)
    order = np.argsort(-gain)[:15][::-1]
    fig, ax = _figure(6.5, 0.32 * len(order) + 1.2)
    ax.barh(range(len(order)), gain[order] / max(gain.sum(), 1e-12))
    ax.set_yticks(range(len(order)), [names[i] for i in order])
    ax.set_xlabel("share of total gain")
    ax.set_title("Top features of the fraud model")
    return _save(fig, path)


# ---------------------------------------------------------------------------------- forecasting
def forecast_series(result: Any, path: Path) -> bool:
    cells = result.figure_data.get("backtest_cells")
    if cells is None or cells.empty:
        return False
    import matplotlib.pyplot as plt

    model = cells[cells["model"] == "model"]
    last = model[model["cutoff"] == model["cutoff"].max()]
    volume = last.groupby(["item_id", "store_id"])["actual"].sum().sort_values(ascending=False)
    picks = list(volume.index[: min(4, len(volume))])
    if not picks:
        return False
    fig, axes = plt.subplots(len(picks), 1, figsize=(7, 2.2 * len(picks)), squeeze=False)
    for ax, (item, store) in zip(axes[:, 0], picks, strict=True):
        part = last[(last["item_id"] == item) & (last["store_id"] == store)].sort_values("date")
        ax.fill_between(part["date"], part["lower"], part["upper"], alpha=0.25, color="C0", label="interval")
        ax.plot(part["date"], part["mean"], color="C0", label="forecast")
        ax.plot(part["date"], part["actual"], color="k", marker=".", linewidth=1, label="actual")
        ax.set_title(f"{item} @ {store}", fontsize=9)
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.suptitle("Holdout backtest, last origin: the busiest series")
    return _save(fig, path)


def forecast_coverage(result: Any, path: Path) -> bool:
    cells = result.figure_data.get("backtest_cells")
    level = result.figure_data.get("level")
    if cells is None or cells.empty:
        return False
    model = cells[cells["model"] == "model"].copy()
    model["step"] = model.groupby(["cutoff", "item_id", "store_id"]).cumcount() + 1
    inside = (model["actual"] >= model["lower"]) & (model["actual"] <= model["upper"])
    coverage = inside.groupby(model["step"]).mean()
    fig, ax = _figure()
    ax.plot(coverage.index, coverage.to_numpy(), marker="o", label="observed")
    if level is not None:
        ax.axhline(level, color="C7", linestyle="--", label=f"nominal {level:.0%}")
    ax.set_ylim(0, 1)
    ax.set_xlabel("periods ahead")
    ax.set_ylabel("share of actuals inside the interval")
    ax.set_title("Prediction-interval coverage per horizon (holdout)")
    ax.legend()
    return _save(fig, path)


DRAWERS: dict[str, dict[str, Callable[[Any, Path], bool]]] = {
    "recsys": {"recsys_ndcg_by_stage": recsys_stages},
    "search": {"search_ndcg_per_query": search_queries},
    "fraud": {
        "fraud_precision_recall": fraud_precision_recall,
        "fraud_calibration": fraud_calibration,
        "fraud_scores_by_label": fraud_scores,
        "fraud_feature_importance": fraud_importances,
    },
    "forecasting": {
        "forecast_sample_series": forecast_series,
        "forecast_coverage_by_horizon": forecast_coverage,
    },
}
