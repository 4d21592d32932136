"""Settings search on the store's own validation split: seeded Optuna TPE within a time budget.

Why Optuna rather than a hand-written grid: TPE spends later trials near the good ones, the
median pruner drops a bad trial from its first reported step, the first trial can be the
defaults (``enqueue_trial``), and a shared storage (a journal file or a database) lets trials run
as Dask tasks on many workers with no change to the search itself.

Each family declares its search space beside its model as ``suggest(trial) -> dict`` (plain
``trial.suggest_*`` calls, so the domain packages need not import optuna); its training job
supplies the objective (fit on the validation split's training part, score on its holdout) and
calls ``tune``. The report is logged to the MLflow run: the chosen settings, every trial and a
plot of the metric per trial.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Suggest = Callable[[Any], dict[str, Any]]
Objective = Callable[[dict[str, Any]], float]


@dataclass
class TuningReport:
    """What a settings search tried and chose.

    Attributes:
        best_params: the suggested settings of the best trial (merged over the defaults by the job).
        best_value: its validation metric.
        default_value: the validation metric of the defaults (trial 0), for comparison.
        direction: ``maximize`` or ``minimize``.
        trials: one dict per finished or pruned trial: ``number``, ``value``, ``state``,
            ``seconds`` and the trial's ``params``.
        seconds: wall time of the whole search.
        metric: the name of the validation metric.
        n_cases: evaluated cases of the validation split.
    """

    best_params: dict[str, Any]
    best_value: float
    default_value: float
    direction: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    metric: str = ""
    n_cases: int = 0

    def summary(self) -> str:
        done = sum(t["state"] == "COMPLETE" for t in self.trials)
        return (
            f"{len(self.trials)} trials ({done} complete) in {self.seconds:.0f}s: validation {self.metric} "
            f"{self.default_value:.4g} (defaults) -> {self.best_value:.4g} (chosen)"
        )

    def params_for_logging(self) -> dict[str, Any]:
        return {f"tuned.{k}": v for k, v in self.best_params.items()}

    def write(self, folder: Path) -> list[Path]:
        """``trials.csv`` and ``trials.png`` (metric per trial, best so far) into ``folder``."""
        import pandas as pd

        folder.mkdir(parents=True, exist_ok=True)
        rows = [
            {k: v for k, v in t.items() if k != "params"} | {f"param_{k}": v for k, v in t["params"].items()}
            for t in self.trials
        ]
        csv = folder / "trials.csv"
        pd.DataFrame(rows).to_csv(csv, index=False)
        return [csv, self._plot(folder / "trials.png")]

    def _plot(self, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        done = [t for t in self.trials if t["state"] == "COMPLETE" and t["value"] is not None]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        xs = [t["number"] for t in done]
        ys = [t["value"] for t in done]
        ax.scatter(xs, ys, s=14, label="trial")
        best, best_so_far = [], None
        for y in ys:
            better = best_so_far is None or (
                y > best_so_far if self.direction == "maximize" else y < best_so_far
            )
            best_so_far = y if better else best_so_far
            best.append(best_so_far)
        ax.step(xs, best, where="post", color="C1", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"validation {self.metric}")
        ax.legend(loc="best")
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path


def tune(
    objective: Objective,
    suggest: Suggest,
    *,
    direction: str,
    budget_s: float,
    max_trials: int,
    seed: int,
    defaults: Mapping[str, Any] | None = None,
    metric: str = "",
    n_cases: int = 0,
    storage: Any = None,
    study_name: str | None = None,
    n_jobs_hint: int = 1,
) -> TuningReport:
    """Search settings with seeded TPE until ``max_trials`` or ``budget_s`` seconds are spent.

    Args:
        objective: validation metric of one settings dict (raise ``optuna.TrialPruned`` to prune).
        suggest: the family's search space.
        direction: ``maximize`` or ``minimize``.
        budget_s: wall-time budget; a trial already running finishes. ``0`` runs only the defaults.
        max_trials: upper bound on trials (the defaults count as the first).
        seed: seeds the sampler, so the same data, seed and trial count give the same choice.
        defaults: the first trial's suggested values (the job's defaults), so the search never
            ends worse than the defaults on validation.
        storage, study_name: an Optuna storage shared by Dask workers (``training.dask_tuning``).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(8, max(2, max_trials // 3)))
    study = optuna.create_study(
        direction=direction,
        sampler=sampler,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4),
        storage=storage,
        study_name=study_name,
        load_if_exists=storage is not None,
    )
    if defaults:
        study.enqueue_trial(dict(defaults), skip_if_exists=True)
    start = time.perf_counter()

    def run(trial: Any) -> float:
        t0 = time.perf_counter()
        params = suggest(trial)
        value = float(objective(params))
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 3))
        if math.isnan(value):
            raise optuna.TrialPruned("nan metric")
        return value

    budget = max(0.0, budget_s)
    study.optimize(
        run,
        n_trials=max_trials if budget > 0 else 1,
        timeout=budget if budget > 0 else None,
        catch=(ValueError, FloatingPointError),
    )
    return report_of(study, metric=metric, n_cases=n_cases, seconds=time.perf_counter() - start)


class _Replay:
    """Answers every ``suggest_*`` call with a recorded trial value (a finished trial, replayed)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("suggest_"):
            return lambda name, *args, **kwargs: self._values[name]
        raise AttributeError(attr)


def params_of(suggest: Suggest, values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings ``suggest`` builds from a trial's values (e.g. ``TuningReport.best_params``)."""
    return suggest(_Replay(values))


def report_of(study: Any, *, metric: str, n_cases: int, seconds: float) -> TuningReport:
    """The report of a finished study (also of one run on Dask workers)."""
    trials = [
        {
            "number": t.number,
            "value": t.value,
            "state": t.state.name,
            "seconds": t.user_attrs.get("seconds"),
            "params": dict(t.params),
        }
        for t in study.trials
    ]
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        raise ValueError("no settings trial completed; see the job log")
    direction = "maximize" if study.direction.name == "MAXIMIZE" else "minimize"
    first = min(complete, key=lambda t: t.number)
    return TuningReport(
        best_params=dict(study.best_trial.params),
        best_value=float(study.best_value),
        default_value=float(first.value),
        direction=direction,
        trials=trials,
        seconds=seconds,
        metric=metric,
        n_cases=n_cases,
    )
