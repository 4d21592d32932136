"""The settings search: seeded, defaults first, inside the budget, replayable, logged as files."""

from __future__ import annotations

import time

from training.tuning import params_of, tune


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
