"""Run a family's training job end to end: check inputs, fit, evaluate, save, log, register.

The runner is the only training code that talks to the registry (through ``models.registry``);
jobs in ``training/jobs`` stay free of MLflow and return a ``TrainResult``.
"""

from __future__ import annotations

import importlib
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from models.artifact import FAMILIES, update_meta
from models.errors import InvalidInputError
from models.settings import Settings
from training.store import StoreData

log = logging.getLogger(__name__)

# family -> (job module, the store files it needs)
JOBS: dict[str, tuple[str, tuple[str, ...]]] = {
    "recsys": ("training.jobs.recsys", ("events", "catalog")),
    "search": ("training.jobs.search", ("catalog",)),
    "fraud": ("training.jobs.fraud", ("transactions",)),
    "forecasting": ("training.jobs.forecasting", ("sales",)),
}


@dataclass
class Outcome:
    """What happened to one family in a training run."""

    family: str
    status: str  # trained | skipped
    reason: str = ""
    version: str | None = None
    promoted: bool = False
    comparison: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    primary_metric: str | None = None
    seconds: float = 0.0
    run_id: str | None = None


def resolve_families(name: str) -> list[str]:
    """``all`` -> every family; otherwise the one family, validated."""
    if name == "all":
        return list(FAMILIES)
    if name not in FAMILIES:
        raise InvalidInputError(
            f"Unknown family {name!r}; expected one of {[*FAMILIES, 'all']}", field="family", value=name
        )
    return [name]


def missing_inputs(family: str, store: StoreData) -> list[str]:
    """The files ``family`` needs that the store folder lacks (fraud also needs labels)."""
    _, needs = JOBS[family]
    missing = [name for name in needs if getattr(store, name) is None]
    tx = store.transactions
    if family == "fraud" and tx is not None and "is_fraud" not in tx.columns:
        missing.append("transactions.is_fraud (the label column)")
    return missing


def train_family(
    family: str,
    store: StoreData,
    settings: Settings,
    *,
    seed: int = 0,
    force_promote: bool = False,
    register: bool = True,
    save_dir: Path | None = None,
) -> Outcome:
    """Train, evaluate, save and (when ``register``) log + register one family."""
    missing = missing_inputs(family, store)
    if missing:
        reason = f"skipped: needs {', '.join(missing)} in the data folder (see docs/DATA.md)"
        return Outcome(family, "skipped", reason)
    start = time.perf_counter()
    job = importlib.import_module(JOBS[family][0])
    # implicit/OpenBLAS is ~9x faster single-threaded on 2 cores (ENVIRONMENT.md, gotcha 4).
    with threadpool_limits(1, "blas"):
        result = job.train(store, seed=seed)
    metrics = {k: float(v) for k, v in result.metrics.items()}
    with tempfile.TemporaryDirectory(prefix=f"shelfwise-{family}-") as tmp:
        model_dir = save_dir / family if save_dir else Path(tmp) / "model"
        result.model.save(model_dir)
        update_meta(model_dir, metrics=metrics, data_window={"fingerprint": store.fingerprint()})
        outcome = Outcome(
            family,
            "trained",
            metrics=metrics,
            primary_metric=result.primary_metric,
            seconds=time.perf_counter() - start,
        )
        if register:
            _register(outcome, result, model_dir, store, settings, seed=seed, force=force_promote)
    outcome.seconds = time.perf_counter() - start
    return outcome


def _register(
    outcome: Outcome,
    result: Any,
    model_dir: Path,
    store: StoreData,
    settings: Settings,
    *,
    seed: int,
    force: bool,
) -> None:
    from models import registry  # lazy: mlflow import costs ~1 s

    params: dict[str, Any] = {
        "seed": seed,
        "data_fingerprint": store.fingerprint(),
        "model_type": getattr(result.model, "model_type", type(result.model).__name__),
        **{f"model.{k}": v for k, v in _model_params(result.model).items()},
        **result.params,
    }
    reg = registry.log_and_register(
        settings,
        family=outcome.family,
        model_dir=model_dir,
        params=params,
        metrics=outcome.metrics,
        primary_metric=result.primary_metric,
        greater_is_better=result.greater_is_better,
        tags={"shelfwise.data_fingerprint": store.fingerprint()},
        force_promote=force,
    )
    outcome.version = reg.version
    outcome.promoted = reg.promoted
    outcome.comparison = reg.comparison
    outcome.run_id = reg.run_id


def _model_params(model: Any) -> dict[str, Any]:
    get = getattr(model, "get_params", None)
    return dict(get()) if callable(get) else {}
