"""Run a family's training job end to end: check inputs, fit, evaluate, save, log, register.

The pipeline is the only training code that talks to the registry (through ``models.registry``);
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

from models.errors import InvalidInputError
from models.evaluation import Evaluation
from models.families import FAMILIES, TABLE
from models.registry import Registration
from models.settings import Settings
from training.figures import write_figures
from training.jobs.base import Champion
from training.store import StoreData

log = logging.getLogger(__name__)
# The training seed of `shelfwise train` and `shelfwise demo` alike (the demo store's data seed is
# separate): the same data and seed give the same model whichever command trained it.
DEFAULT_SEED = 0


@dataclass
class FamilyRun:
    """One family in one training run, from fitting to registration: the run's one record.

    ``fit_family`` fills it (what a Dask worker hands back: small and picklable, the model itself
    stays in ``model_dir``, its per-case evaluation and settings trials in ``report_dir``);
    ``register_run`` adds the registry's answer; the CLI prints it.
    """

    family: str
    status: str  # trained | skipped
    reason: str = ""
    model_dir: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    primary_metric: str | None = None
    greater_is_better: bool = True
    params: dict[str, Any] = field(default_factory=dict)  # the run parameters logged to MLflow
    fingerprint: str = ""  # of the store the model was fitted on
    seconds: float = 0.0
    report_dir: Path | None = None
    baselines: tuple[str, ...] = ()
    tuning: str = ""  # the settings search's one-line summary
    registration: Registration | None = None  # set when the run is logged and registered

    @property
    def version(self) -> str | None:
        return self.registration.version if self.registration else None

    @property
    def promoted(self) -> bool:
        return bool(self.registration and self.registration.promoted)

    @property
    def comparison(self) -> dict[str, Any]:
        return self.registration.comparison if self.registration else {}

    @property
    def run_id(self) -> str | None:
        return self.registration.run_id if self.registration else None


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
) -> FamilyRun:
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
    fingerprint = store.fingerprint()
    # meta.json is written once, with the run's metrics and the data the model saw.
    window = {**(getattr(result.model, "data_window_", None) or {}), "fingerprint": fingerprint}
    if result.data_end is not None:
        window["end"] = pd.Timestamp(result.data_end).isoformat()
    result.model.data_window_, result.model.metrics_ = window, metrics
    result.model.save(model_dir)
    params: dict[str, Any] = {
        "seed": seed,
        "data_fingerprint": fingerprint,
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
    return FamilyRun(
        family,
        "trained",
        model_dir=Path(model_dir),
        metrics=metrics,
        primary_metric=result.primary_metric,
        greater_is_better=result.greater_is_better,
        params=params,
        fingerprint=fingerprint,
        seconds=time.perf_counter() - start,
        report_dir=report_dir,
        baselines=tuple(result.baselines),
        tuning=summary,
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
) -> FamilyRun:
    """Train, evaluate, save and (when ``register``) log + register one family."""
    missing = store.missing_for(family)
    if missing:
        return FamilyRun(family, "skipped", skip_reason(missing))
    start = time.perf_counter()
    champion = champion_ref(settings, family) if register and not force_promote else None
    with tempfile.TemporaryDirectory(prefix=f"shelfwise-{family}-") as tmp:
        model_dir = save_dir / family if save_dir else Path(tmp) / "model"
        run = fit_family(family, store, model_dir, seed=seed, budget_s=budget_s, champion=champion)
        if register:
            register_run(run, settings, force=force_promote)
    run.seconds = time.perf_counter() - start
    return run


def skip_reason(missing: list[str]) -> str:
    """The message of a family skipped for lack of input files."""
    return f"skipped: needs {', '.join(missing)} in the data folder (see docs/DATA.md)"


def register_run(run: FamilyRun, settings: Settings, *, force: bool) -> None:
    """Log ``run`` to MLflow, register its model directory and keep the registry's answer in it."""
    from models import registry  # lazy: mlflow import costs ~1 s

    assert run.model_dir is not None and run.primary_metric is not None, "only a trained run registers"
    run.registration = registry.log_and_register(
        settings,
        family=run.family,
        model_dir=run.model_dir,
        params=run.params,
        metrics=run.metrics,
        primary_metric=run.primary_metric,
        greater_is_better=run.greater_is_better,
        tags={"shelfwise.data_fingerprint": run.fingerprint},
        force_promote=force,
        report_dir=run.report_dir,
        baselines=run.baselines,
    )


def _model_params(model: Any) -> dict[str, Any]:
    get = getattr(model, "get_params", None)
    return dict(get()) if callable(get) else {}
