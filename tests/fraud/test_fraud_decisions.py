"""The one threshold rule both fraud models decide with."""

from __future__ import annotations

import numpy as np

from fraud.thresholds import decisions

THRESHOLDS = {"review": 0.2, "decline": 0.7}


def test_decisions_match_the_threshold_rule_at_and_around_the_cuts() -> None:
    scores = np.array([0.0, 0.19999, 0.2, 0.5, 0.69999, 0.7, 1.0, np.nan])
    got = decisions(scores, THRESHOLDS)
    assert got.tolist() == [
        "approve",
        "approve",
        "review",
        "review",
        "review",
        "decline",
        "decline",
        "approve",
    ]


def test_decisions_equal_np_select_on_random_scores() -> None:
    scores = np.random.default_rng(0).random(1000)
    expected = np.select([scores >= 0.7, scores >= 0.2], ["decline", "review"], default="approve")
    np.testing.assert_array_equal(decisions(scores, THRESHOLDS), expected)
    assert decisions(scores[:1], THRESHOLDS).shape == (1,)
