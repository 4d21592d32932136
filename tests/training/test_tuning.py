"""The settings search: seeded, defaults first, inside the budget, replayable, logged as files."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from training.tuning import params_of, run_steps, tune


def suggest(trial):
    return {"x": trial.suggest_float("x", -5.0, 5.0), "kind": trial.suggest_categorical("kind", ("a", "b"))}


def objective(params):
    return -((params["x"] - 2.0) ** 2) + (0.5 if params["kind"] == "b" else 0.0)


def test_same_seed_same_choice_and_the_defaults_come_first(tmp_path):
    runs = [
        tune(
            objective,
            suggest,
            direction="maximize",
            budget_s=60,
            max_trials=25,
            seed=7,
            defaults={"x": 0.0, "kind": "a"},
            metric="score",
        )
        for _ in range(2)
    ]
    assert runs[0].best_params == runs[1].best_params
    first = runs[0].trials[0]
    assert first["params"] == {"x": 0.0, "kind": "a"} and runs[0].default_value == objective(first["params"])
    assert runs[0].best_value >= runs[0].default_value
    assert abs(runs[0].best_params["x"] - 2.0) < 1.0 and runs[0].best_params["kind"] == "b"
    csv, png = runs[0].write(tmp_path)
    assert csv.read_text().count("\n") == 26 and png.stat().st_size > 1000
    assert "25 trials" in runs[0].summary()


def test_params_of_replays_a_trial_through_the_space():
    assert params_of(suggest, {"x": 1.5, "kind": "b"}) == {"x": 1.5, "kind": "b"}


def test_the_budget_stops_the_search():
    def slow(params):
        time.sleep(0.2)
        return objective(params)

    start = time.perf_counter()
    report = tune(slow, suggest, direction="maximize", budget_s=1.0, max_trials=1000, seed=0)
    assert time.perf_counter() - start < 3.0 and len(report.trials) < 20


def test_zero_budget_runs_only_the_defaults():
    report = tune(
        objective,
        suggest,
        direction="maximize",
        budget_s=0,
        max_trials=50,
        seed=0,
        defaults={"x": 1.0, "kind": "a"},
    )
    assert len(report.trials) == 1 and report.best_params == {"x": 1.0, "kind": "a"}


class Staged:
    """Five "validation origins"; each step costs one unit of work, counted in ``steps_run``."""

    def __init__(self):
        self.steps_run = 0

    def steps(self, params):
        total = 0.0
        for origin in range(5):
            self.steps_run += 1
            total += objective(params) - 0.01 * origin
            if origin < 4:
                yield total / (origin + 1)
        return total / 5

    def __call__(self, params):
        return run_steps(self.steps(params))


def test_a_staged_objective_is_pruned_by_the_median_rule_and_still_finds_the_optimum():
    staged = Staged()
    report = tune(staged, suggest, direction="maximize", budget_s=60, max_trials=30, seed=0)
    states = [t["state"] for t in report.trials]
    assert states.count("PRUNED") >= 5 and "pruned" in report.summary()
    assert staged.steps_run < 30 * 5  # pruned trials stopped early: less work than every trial in full
    plain = tune(objective, suggest, direction="maximize", budget_s=60, max_trials=30, seed=0)
    assert report.best_params["kind"] == "b" and abs(report.best_params["x"] - 2.0) < 1.0
    assert report.best_value >= plain.best_value - 0.5  # pruning does not lose the good region
    assert run_steps(staged.steps({"x": 2.0, "kind": "b"})) == pytest.approx(0.48)  # the returned value


def test_jobs_announce_their_stages_with_the_search_estimate(demo_store):
    """What `shelfwise train` shows while a family trains (training.progress)."""
    from training.pipeline import fit_family
    from training.progress import reporting_to

    heard: list[tuple[str, float | None]] = []
    with reporting_to(lambda name, estimate: heard.append((name, estimate))):
        fit_family("fraud", demo_store, Path(tempfile.mkdtemp()) / "fraud", budget_s=5)
    names = [name for name, _ in heard]
    assert names[0] == "settings search" and heard[0][1] == 5
    assert names[-1] == "final fit on all transactions"
    assert "fitting on the older transactions and scoring the holdout" in names
