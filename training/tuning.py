"""Settings search on the store's own validation split: seeded Optuna TPE within a time budget.

Why Optuna rather than a hand-written grid: TPE spends later trials near the good ones, the first
trial can be the defaults (``enqueue_trial``), and its ask-and-tell interface separates choosing
settings from evaluating them, so trials can run anywhere.

Trials go in batches of ``BATCH`` (ask ``BATCH`` settings, evaluate them, tell the results): in
this process one after the other, or, inside ``trials_on(DaskTrials(client))`` (what
``shelfwise train --dask`` sets up on the worker that runs a family), as Dask tasks on the
cluster's workers at the same time. The sampler lives in the one process that asks, and sees
the same results in the same order either way, so the same seed and trial count choose the same
settings in process and on a cluster.

**Pruning.** An objective that can say how a trial is going before it ends (an object with a
``steps(params)`` generator that yields intermediate values, e.g. the error after each
validation origin, and returns the final value; ``run_steps`` drives it to the end) is pruned
by Optuna's median rule: a trial whose intermediate value is worse than the median of earlier
trials at the same step stops there (state ``PRUNED`` in the report). Pruning needs the trial
in the asking process, so it happens in process; on Dask workers each trial runs to its end.

Each family declares its search space beside its model as ``suggest(trial) -> dict`` (plain
``trial.suggest_*`` calls, so the domain packages need not import optuna); its training job
supplies the objective (fit on the validation split's training part, score on its holdout) and
calls ``tune``. The report is logged to the MLflow run: the chosen settings, every trial and a
plot of the metric per trial.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

log = logging.getLogger(__name__)

Suggest = Callable[[Any], dict[str, Any]]
Objective = Callable[[dict[str, Any]], float]
BATCH = 2  # settings asked before results are told: the parallelism a cluster can use


PRUNE_AFTER = 4  # completed trials before the median rule may stop one


def run_steps(steps: Iterator[float]) -> float:
    """Drive a ``steps(params)`` generator to its end; its return value is the trial's value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return float(stop.value)


class LocalTrials:
    """Evaluates a batch of settings one after the other in this process (pruning staged ones)."""

    def run(
        self, objective: Objective, batch: Sequence[dict[str, Any]], trials: Sequence[Any] = ()
    ) -> list[tuple[float, float]]:
        if trials and callable(getattr(objective, "steps", None)):
            return [_staged(objective, params, trial) for params, trial in zip(batch, trials, strict=True)]
        return [_timed(objective, params) for params in batch]


class DaskTrials:
    """Evaluates a batch of settings as Dask tasks, one per setting, on the cluster's workers.

    The objective (with the validation data it closes over) is scattered to the workers once per
    search; each task runs one fit with BLAS on one thread, as in process.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._scattered: dict[int, Any] = {}

    def run(
        self, objective: Objective, batch: Sequence[dict[str, Any]], trials: Sequence[Any] = ()
    ) -> list[tuple[float, float]]:
        del trials  # no pruning on the workers: each trial runs to its end
        key = id(objective)
        if key not in self._scattered:
            self._scattered = {key: self.client.scatter(objective, broadcast=True, hash=False)}
        futures = [self.client.submit(_timed_one_thread, self._scattered[key], p, pure=False) for p in batch]
        return list(self.client.gather(futures))


_EXECUTOR: contextvars.ContextVar[Any] = contextvars.ContextVar("shelfwise_trials", default=None)


@contextmanager
def trials_on(executor: Any) -> Iterator[None]:
    """Run the settings searches started inside the block with ``executor`` (e.g. ``DaskTrials``)."""
    token = _EXECUTOR.set(executor)
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


def current_executor() -> Any:
    """Where settings trials run now: the executor ``trials_on`` set, else this process."""
    return _EXECUTOR.get() or LocalTrials()


def _timed(objective: Objective, params: dict[str, Any]) -> tuple[float, float]:
    start = time.perf_counter()
    try:
        value = float(objective(params))
    except (ValueError, FloatingPointError) as exc:  # a setting the model refuses: a failed trial
        log.warning("settings trial failed (%s): %s", type(exc).__name__, exc)
        value = math.nan
    return value, time.perf_counter() - start


def _staged(objective: Any, params: dict[str, Any], trial: Any) -> tuple[float, float]:
    """Run a staged objective, reporting each intermediate value; a pruned trial's value is a
    ``_PrunedValue`` (its last intermediate value)."""
    start = time.perf_counter()
    steps = objective.steps(params)
    step = 0
    try:
        while True:
            try:
                value = float(next(steps))
            except StopIteration as stop:
                return float(stop.value), time.perf_counter() - start
            trial.report(value, step)
            step += 1
            if trial.should_prune():
                steps.close()
                return _PrunedValue(value), time.perf_counter() - start
    except (ValueError, FloatingPointError) as exc:
        log.warning("settings trial failed (%s): %s", type(exc).__name__, exc)
        return math.nan, time.perf_counter() - start


class _PrunedValue(float):
    """An intermediate value at which a trial was pruned (a float, so results stay uniform)."""


def _timed_one_thread(objective: Objective, params: dict[str, Any]) -> tuple[float, float]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # as fit_family runs it (single-threaded BLAS)
        return _timed(objective, params)


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
        pruned = sum(t["state"] == "PRUNED" for t in self.trials)
        stopped = f", {pruned} pruned" if pruned else ""
        return (
            f"{len(self.trials)} trials ({done} complete{stopped}) in {self.seconds:.0f}s: "
            f"validation {self.metric} {self.default_value:.4g} (defaults) -> {self.best_value:.4g} (chosen)"
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
        ys = [float(t["value"]) for t in done]
        ax.scatter(xs, ys, s=14, label="trial")
        pick = max if self.direction == "maximize" else min
        best = [pick(ys[: i + 1]) for i in range(len(ys))]
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
    executor: Any = None,
) -> TuningReport:
    """Search settings with seeded TPE until ``max_trials`` or ``budget_s`` seconds are spent.

    Args:
        objective: validation metric of one settings dict (``nan`` or a ``ValueError``: failed).
        suggest: the family's search space.
        direction: ``maximize`` or ``minimize``.
        budget_s: wall-time budget, checked before each batch (a running batch finishes).
            ``0`` runs only the defaults.
        max_trials: upper bound on trials (the defaults count as the first).
        seed: seeds the sampler, so the same data, seed and trial count give the same choice.
        defaults: the first trial's suggested values (the job's defaults), so the search never
            ends worse than the defaults on validation.
        executor: where batches run (default: the one ``trials_on`` set, else this process).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    executor = executor or current_executor()
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(8, max(2, max_trials // 3)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER, n_warmup_steps=0)
    study = optuna.create_study(direction=cast(Any, direction), sampler=sampler, pruner=pruner)
    if defaults:
        study.enqueue_trial(dict(defaults))
    start = time.perf_counter()
    limit = max_trials if budget_s > 0 else 1
    asked = 0  # an enqueued trial already sits in study.trials, waiting
    while asked < limit:
        if asked and time.perf_counter() - start >= budget_s:
            break
        trials = [study.ask() for _ in range(min(BATCH, limit - asked))]
        asked += len(trials)
        results = executor.run(objective, [suggest(t) for t in trials], trials)
        for trial, (value, seconds) in zip(trials, results, strict=True):
            trial.set_user_attr("seconds", round(seconds, 3))
            if isinstance(value, _PrunedValue):
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            elif math.isnan(value):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
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
