"""The promotion gate: too few cases, baselines and the champion, each beaten beyond noise."""

from __future__ import annotations

import numpy as np

from models.evaluation import Evaluation
from models.gate import decide


def _eval(n=1000, lift=0.05, seed=0, noise=0.05) -> Evaluation:
    rng = np.random.default_rng(seed)
    base = rng.random(n) * 0.3
    return Evaluation(
        [f"u{i}" for i in range(n)],
        {"model": base + lift + rng.normal(0, noise, n), "popularity": base},
        case_name="shoppers",
        holdout_key="same-holdout",
    )


def test_first_version_that_beats_its_baseline_is_promoted():
    d = decide(_eval(), baselines=("popularity",))
    assert d.promote and "no champion yet" in d.reason
    assert d.comparisons[0].better


def test_too_few_cases_never_decide_and_say_so():
    d = decide(_eval(n=40), baselines=("popularity",))
    assert not d.promote and "only 40 shoppers" in d.reason and "--promote" in d.reason


def test_a_model_that_does_not_beat_popularity_beyond_noise_is_not_promoted():
    d = decide(_eval(lift=0.0), baselines=("popularity",))
    assert not d.promote and "popularity baseline" in d.reason


def test_the_same_model_retrained_with_another_seed_is_not_promoted_on_noise():
    champion = _eval(seed=0)
    rng = np.random.default_rng(5)
    retrained = champion.with_row("model", champion.rows["model"] + rng.normal(0, 0.01, champion.n_cases))
    d = decide(retrained, baselines=("popularity",), champion_version="3", champion_evaluation=champion)
    assert not d.promote and "champion v3" in d.reason


def test_a_real_improvement_over_the_champion_is_promoted():
    champion = _eval(seed=0)
    better = champion.with_row("model", champion.rows["model"] + 0.03)
    d = decide(better, baselines=("popularity",), champion_version="3", champion_evaluation=champion)
    assert d.promote and "beats champion v3" in d.reason


def test_a_champion_scored_on_another_holdout_is_not_compared_case_by_case():
    old = Evaluation(["x"] * 200, {"model": np.ones(200)}, holdout_key="older-data")
    d = decide(_eval(), baselines=("popularity",), champion_version="2", champion_evaluation=old)
    assert d.promote and "another holdout" in d.reason


def test_force_wins_and_no_evaluation_never_promotes():
    assert decide(_eval(lift=0.0), baselines=("popularity",), force=True).promote
    assert decide(None, baselines=("bm25",)).promote  # a first version with nothing to evaluate on
    assert not decide(None, baselines=("bm25",), champion_version="1").promote


def _rescored(new: Evaluation, champion_lift: float, n: int | None = None) -> Evaluation:
    """The new model and the champion re-scored on the (first ``n``) cases newer than the champion."""
    keep = np.arange(new.n_cases) < (n or new.n_cases)
    subset = new.subset(keep)
    return Evaluation(
        subset.case_ids,
        {"model": subset.rows["model"], "champion": subset.rows["model"] + champion_lift},
        case_name="shoppers",
    )


def test_a_champion_better_on_the_newer_cases_keeps_its_place():
    new = _eval()
    d = decide(new, baselines=("popularity",), champion_version="4", rescored=_rescored(new, 0.02))
    assert not d.promote
    assert "champion v4 is better beyond noise" in d.reason
    assert "(re-scored on 1000 shoppers newer than its training data)" in d.reason
    assert d.comparisons[-1].other == "champion" and d.comparisons[-1].worse


def test_newer_data_that_is_as_good_as_the_champion_is_promoted_so_the_champion_does_not_go_stale():
    new = _eval()
    rng = np.random.default_rng(1)
    tied = _rescored(new, 0.0)
    tied = tied.with_row("champion", tied.rows["champion"] + rng.normal(0, 0.01, tied.n_cases))
    d = decide(new, baselines=("popularity",), champion_version="4", rescored=tied)
    assert d.promote and "trained on newer data and is not worse beyond noise than champion v4" in d.reason
    better = decide(new, baselines=("popularity",), champion_version="4", rescored=_rescored(new, -0.02))
    assert better.promote and "trained on newer data and beats champion v4" in better.reason


def test_too_few_newer_cases_fall_back_to_the_baselines_and_say_why():
    new = _eval()
    note = "champion v4 was not re-scored: 30 of the 1000 evaluated shoppers are newer than its training data"
    d = decide(
        new,
        baselines=("popularity",),
        champion_version="4",
        rescored=_rescored(new, 0.05, n=30),  # fewer than MIN_CASES: not a comparison
        rescore_note=note,
    )
    assert d.promote and note in d.reason and "beats popularity beyond noise" in d.reason


def test_the_rescore_never_rescues_a_model_that_loses_to_its_baseline():
    new = _eval(lift=0.0)
    d = decide(new, baselines=("popularity",), champion_version="4", rescored=_rescored(new, -0.1))
    assert not d.promote and "popularity baseline" in d.reason
