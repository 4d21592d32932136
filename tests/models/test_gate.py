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
