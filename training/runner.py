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

import pandas as pd
from threadpoolctl import threadpool_limits

from models.artifact import update_meta
from models.errors import InvalidInputError
from models.evaluation import Evaluation
from models.families import FAMILIES, TABLE
from models.settings import Settings
from training.figures import write_figures
from training.jobs.base import Champion
from training.store import StoreData

log = logging.getLogger(__name__)
# The training seed of `shelfwise train` and `shelfwise demo` alike (the demo store's data seed is
# separate): the same data and seed give the same model whichever command trained it.
DEFAULT_SEED = 0


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
    tuning: str = ""  # the settings search's one-line summary


def resolve_families(name: str) -> list[str]:
    """``all`` -> every family; otherwise the one family, validated."""
    if name == "all":
        return list(FAMILIES)
    if name not in FAMILIES:
        raise InvalidInputError(
            f"Unknown family {name!r}; expected one of {[*FAMILIES, 'all']}", field="family", value=name
        )
    return [name]


def inputs_of(families: list[str]) -> list[str]:
    """The store files ``families`` read: what they need and what they use when present."""
    return sorted({name for f in families for name in (*TABLE[f].needs, *TABLE[f].uses)})


def missing_inputs(family: str, store: StoreData) -> list[str]:
    """The files ``family`` needs that the store folder lacks (fraud also needs labels)."""
    needs = TABLE[family].needs
    missing = [name for name in needs if getattr(store, name) is None]
    tx = store.transactions
    if family == "fraud" and tx is not None and "is_fraud" not in tx.columns:
        missing.append("transactions.is_fraud (the label column)")
    return missing


@dataclass(frozen=True)
class ChampionRef:
    """Where the family's current champion lies, for the job to re-score it (small, picklable)."""

    version: str
    model_dir: Path
    seen_cases: tuple[str, ...] = ()  # the case ids of its own evaluation

    def load(self, family: str) -> Champion:
        """The champion loaded as the server loads it, with the end of its training data."""
        from models.artifact import read_meta
        from models.loader import load_model

        meta = read_meta(self.model_dir, family=family)
        end = (meta.get("data_window") or {}).get("end")
        return Champion(
            load_model(self.model_dir, family=family),
            self.version,
            pd.Timestamp(end) if end else None,
            frozenset(self.seen_cases),
        )


def champion_ref(settings: Settings, family: str) -> ChampionRef | None:
    """The registered champion of ``family``, downloaded to the cache, or None if there is none."""
    from models import registry  # lazy: mlflow import costs ~1 s

    found = registry.champion_artifact(settings, family)
    if found is None:
        return None
    artifact, evaluation = found
    seen = tuple(evaluation.case_ids.tolist()) if evaluation is not None else ()
    return ChampionRef(artifact.version, Path(artifact.path), seen)


def rescore_file(version: str) -> str:
    """The file name, in the report directory, of the champion ``version`` re-scored."""
    return f"champion-v{version}.npz"


@dataclass
class FittedFamily:
    """A family fitted and saved, with everything registering it needs (small and picklable).

    This is what a Dask worker hands back: the model itself stays in ``model_dir``, its per-case
    evaluation and settings trials in ``report_dir``.
    """

    family: str
    model_dir: Path
    metrics: dict[str, float]
    primary_metric: str
    greater_is_better: bool
    params: dict[str, Any]  # the run parameters logged to MLflow
    fingerprint: str  # of the store the model was fitted on
    seconds: float
    report_dir: Path | None = None
    baselines: tuple[str, ...] = ()
    tuning_summary: str = ""


def report_dir_of(model_dir: Path) -> Path:
    """Where the run's evaluation and trials go: beside the model directory, not inside it."""
    return Path(model_dir).with_name(Path(model_dir).name + "-evaluation")


def fit_family(
    family: str,
    store: StoreData,
    model_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    budget_s: float | None = None,
    champion: ChampionRef | None = None,
) -> FittedFamily:
    """Train and evaluate one family and save its model to ``model_dir`` (no registry involved).

    ``budget_s`` is the settings search's time budget (``None``: the job's default, ``0``: the
    defaults only, no search). ``champion``, when given, is re-scored by the job on the new
    holdout's cases it has not seen (``training.jobs.base.Champion``).
    """
    start = time.perf_counter()
    job = importlib.import_module(TABLE[family].job)
    options: dict[str, Any] = {} if budget_s is None else {"budget_s": budget_s}
    if champion is not None:
        options["champion"] = _loaded(champion, family)
    # implicit's ALS is faster with single-threaded BLAS: a BLAS thread team per small product
    # only contends with implicit's own threads.
    with threadpool_limits(1, "blas"):
        result = job.train(store, seed=seed, **options)
    metrics = {k: float(v) for k, v in result.metrics.items()}
    report_dir = report_dir_of(model_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    if result.evaluation is not None:
        metrics.update(interval_metrics(result.primary_metric, result.evaluation))
        result.evaluation.save(report_dir / "evaluation.npz")
    write_figures(family, result, report_dir)
    result.model.save(model_dir)
    window = {"fingerprint": store.fingerprint()}
    if result.data_end is not None:
        window["end"] = pd.Timestamp(result.data_end).isoformat()
    update_meta(model_dir, metrics=metrics, data_window=window)
    params: dict[str, Any] = {
        "seed": seed,
        "data_fingerprint": store.fingerprint(),
        "model_type": getattr(result.model, "model_type", type(result.model).__name__),
        **{f"model.{k}": v for k, v in _model_params(result.model).items()},
        **result.params,
    }
    # What the settings search did, or why it did not run (the job's "settings_search" note).
    summary = str(params.get("settings_search", "")) if budget_s else ""
    if result.tuning is not None:
        result.tuning.write(report_dir)
        params.update(result.tuning.params_for_logging())
        summary = result.tuning.summary() + (f" {summary}" if summary.startswith("on ") else "")
        metrics["tuning_seconds"] = round(result.tuning.seconds, 1)
        metrics["tuning_trials"] = len(result.tuning.trials)
    if summary:
        params["settings_search"] = summary
    if result.rescore is not None:
        params["champion_rescore"] = result.rescore.note
        if result.rescore.evaluation is not None:
            result.rescore.evaluation.save(report_dir / rescore_file(result.rescore.version))
    return FittedFamily(
        family,
        Path(model_dir),
        metrics,
        result.primary_metric,
        result.greater_is_better,
        params,
        store.fingerprint(),
        time.perf_counter() - start,
        report_dir,
        tuple(result.baselines),
        summary,
    )


def _loaded(ref: ChampionRef, family: str) -> Champion | None:
    """The champion to re-score, or None (logged) when its artifact cannot be loaded."""
    try:
        return ref.load(family)
    except Exception as exc:  # noqa: BLE001 - an older or corrupt artifact must not stop training
        log.warning("%s: champion v%s not re-scored, it does not load (%s)", family, ref.version, exc)
        return None


def interval_metrics(primary: str, evaluation: Evaluation) -> dict[str, float]:
    """The primary metric's 95 % bootstrap interval, the case count and each baseline's interval."""
    lo, hi = evaluation.interval()
    out = {f"{primary}_ci_low": lo, f"{primary}_ci_high": hi, "n_eval_cases": float(evaluation.n_cases)}
    for row in evaluation.rows:
        if row != "model":
            cmp = evaluation.difference("model", row)
            out[f"vs_{row}_{primary}_diff"] = cmp.difference
            out[f"vs_{row}_{primary}_diff_ci_low"] = cmp.low
            out[f"vs_{row}_{primary}_diff_ci_high"] = cmp.high
    return out


def train_family(
    family: str,
    store: StoreData,
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    force_promote: bool = False,
    register: bool = True,
    save_dir: Path | None = None,
    budget_s: float | None = None,
) -> Outcome:
    """Train, evaluate, save and (when ``register``) log + register one family."""
    missing = missing_inputs(family, store)
    if missing:
        return Outcome(family, "skipped", skip_reason(missing))
    start = time.perf_counter()
    champion = champion_ref(settings, family) if register and not force_promote else None
    with tempfile.TemporaryDirectory(prefix=f"shelfwise-{family}-") as tmp:
        model_dir = save_dir / family if save_dir else Path(tmp) / "model"
        fitted = fit_family(family, store, model_dir, seed=seed, budget_s=budget_s, champion=champion)
        outcome = trained_outcome(fitted)
        if register:
            register_fitted(outcome, fitted, settings, force=force_promote)
    outcome.seconds = time.perf_counter() - start
    return outcome


def skip_reason(missing: list[str]) -> str:
    """The message of a family skipped for lack of input files."""
    return f"skipped: needs {', '.join(missing)} in the data folder (see docs/DATA.md)"


def trained_outcome(fitted: FittedFamily) -> Outcome:
    """The outcome of a fitted family before it is registered."""
    return Outcome(
        fitted.family,
        "trained",
        metrics=dict(fitted.metrics),
        primary_metric=fitted.primary_metric,
        seconds=fitted.seconds,
        tuning=fitted.tuning_summary,
    )


def register_fitted(outcome: Outcome, fitted: FittedFamily, settings: Settings, *, force: bool) -> None:
    """Log ``fitted`` to MLflow, register its model directory and record the result in ``outcome``."""
    from models import registry  # lazy: mlflow import costs ~1 s

    reg = registry.log_and_register(
        settings,
        family=fitted.family,
        model_dir=fitted.model_dir,
        params=fitted.params,
        metrics=fitted.metrics,
        primary_metric=fitted.primary_metric,
        greater_is_better=fitted.greater_is_better,
        tags={"shelfwise.data_fingerprint": fitted.fingerprint},
        force_promote=force,
        report_dir=fitted.report_dir,
        baselines=fitted.baselines,
    )
    outcome.version = reg.version
    outcome.promoted = reg.promoted
    outcome.comparison = reg.comparison
    outcome.run_id = reg.run_id


def _model_params(model: Any) -> dict[str, Any]:
    get = getattr(model, "get_params", None)
    return dict(get()) if callable(get) else {}
