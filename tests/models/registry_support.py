"""Registering a model the way training does, shared by the SQLite and PostgreSQL registry tests
(a module, so test files share it without importing each other)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models import registry
from models.artifact import write_meta
from models.evaluation import Evaluation
from models.settings import Settings
from training.pipeline import interval_metrics


def model_dir(tmp_path: Path, name: str) -> Path:
    d = write_meta(tmp_path / name, family="recsys", model_type="popularity", format_version=1, params={})
    (d / "payload.json").write_text(f'"{name}"')
    return d


def register(settings: Settings, d: Path, value: float, force: bool = False) -> registry.Registration:
    """Register ``d`` with a per-shopper evaluation around ``value`` on one fixed holdout."""
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.02, 500)
    evaluation = Evaluation(
        [f"u{i}" for i in range(500)],
        {"model": value + noise, "popularity": 0.04 + noise},
        holdout_key="one-holdout",
        case_name="shoppers",
    )
    report = d.with_name(d.name + "-evaluation")
    report.mkdir(exist_ok=True)
    evaluation.save(report / "evaluation.npz")
    return registry.log_and_register(
        settings,
        family="recsys",
        model_dir=d,
        params={"seed": 0},
        metrics={"ndcg_at_10": value, **interval_metrics("ndcg_at_10", evaluation)},
        primary_metric="ndcg_at_10",
        greater_is_better=True,
        force_promote=force,
        report_dir=report,
        baselines=("popularity",),
    )
