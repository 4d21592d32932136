"""Per-case evaluations: bootstrap intervals, paired differences, the three metric kinds, npz."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from models.evaluation import Evaluation, average_precision, holdout_key


def _mean_eval(n=2000, lift=0.05, seed=0) -> Evaluation:
    rng = np.random.default_rng(seed)
    base = rng.random(n) * 0.4
    return Evaluation(
        [f"u{i}" for i in range(n)],
        {"model": base + lift + rng.normal(0, 0.05, n), "popularity": base},
        case_name="shoppers",
    )


def test_interval_brackets_the_metric_and_shrinks_with_more_cases():
    small, large = _mean_eval(n=200), _mean_eval(n=5000)
    for ev in (small, large):
        lo, hi = ev.interval()
        assert lo < ev.metric() < hi
    width = {ev.n_cases: np.subtract(*ev.interval()[::-1]) for ev in (small, large)}
    assert width[5000] < width[200] / 3  # ~ sqrt(25) = 5x narrower


def test_paired_difference_finds_a_real_lift_and_not_a_null_one():
    real = _mean_eval(lift=0.02).difference("model", "popularity")
    assert real.better and real.low > 0 and real.difference == pytest.approx(0.02, abs=0.005)
    null = _mean_eval(lift=0.0).difference("model", "popularity")
    assert not null.better and null.low < 0 < null.high


def test_lower_is_better_flips_what_better_means():
    ev = Evaluation(
        ["a", "b", "c"] * 100,
        {"model": np.full(300, 1.0), "snaive": np.full(300, 2.0)},
        greater_is_better=False,
    )
    assert ev.difference("model", "snaive").better


def test_ratio_kind_is_a_ratio_of_sums_over_resampled_series():
    rows = {"model": np.array([[1.0, 10.0], [9.0, 10.0]]), "snaive": np.array([[2.0, 10.0], [10.0, 10.0]])}
    ev = Evaluation(["s1", "s2"], rows, kind="ratio", greater_is_better=False)
    assert ev.metric() == pytest.approx(0.5)
    assert ev.metric("snaive") == pytest.approx(0.6)
    assert ev.metric(index=np.array([0, 0])) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="numerator"):
        Evaluation(["s1"], {"model": np.array([1.0])}, kind="ratio")


def test_average_precision_matches_sklearn_with_ties_and_its_bootstrap_matches_a_direct_recompute():
    rng = np.random.default_rng(1)
    labels = (rng.random(3000) < 0.05).astype(int)
    scores = np.round(rng.random(3000) + labels * 0.4, 2)  # many ties
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
    ev = Evaluation(np.arange(3000), {"model": scores}, kind="average_precision", labels=labels)
    idx = ev.resamples(50)[7]
    direct = average_precision_score(labels[idx], scores[idx])
    assert ev._stats("model", 50)[7] == pytest.approx(direct)


def test_save_load_roundtrip_keeps_everything(tmp_path):
    ev = Evaluation(
        ["t1", "t2", "t3"],
        {"model": [0.9, 0.1, 0.5], "raw": [0.5, 0.2, 0.4]},
        kind="average_precision",
        labels=[1, 0, 1],
        case_name="transactions",
    )
    ev.save(tmp_path / "e.npz")
    back = Evaluation.load(tmp_path / "e.npz")
    assert back.holdout_key == ev.holdout_key and back.kind == ev.kind and back.case_name == "transactions"
    assert list(back.case_ids) == ["t1", "t2", "t3"]
    np.testing.assert_array_equal(back.rows["raw"], ev.rows["raw"])
    np.testing.assert_array_equal(back.labels, ev.labels)


def test_aligned_reorders_the_same_cases_and_refuses_other_holdouts():
    key = holdout_key(["a", "b", "c"])
    new = Evaluation(["a", "b", "c"], {"model": [1.0, 2.0, 3.0]}, holdout_key=key)
    old = Evaluation(["c", "a", "b"], {"model": [30.0, 10.0, 20.0]}, holdout_key=key)
    np.testing.assert_array_equal(new.aligned(old), [10.0, 20.0, 30.0])
    other = Evaluation(["a", "b", "c"], {"model": [1.0, 2.0, 3.0]}, holdout_key="another")
    assert new.aligned(other) is None


def test_subset_keeps_rows_and_labels_of_the_chosen_cases_under_a_new_key():
    full = Evaluation(
        ["t1", "t2", "t3", "t4"],
        {"model": [0.9, 0.1, 0.8, 0.3], "raw": [0.5, 0.5, 0.4, 0.6]},
        kind="average_precision",
        labels=np.array([1, 0, 1, 0]),
        case_name="transactions",
        min_cases=2,
    )
    part = full.subset(np.array([False, True, True, True]))
    assert part.case_ids.tolist() == ["t2", "t3", "t4"]
    np.testing.assert_array_equal(part.rows["raw"], [0.5, 0.4, 0.6])
    np.testing.assert_array_equal(part.labels, [0, 1, 0])
    assert part.holdout_key != full.holdout_key and part.aligned(full) is None
    assert (part.kind, part.case_name, part.min_cases) == ("average_precision", "transactions", 2)
    assert part.metric("model") == pytest.approx(average_precision_score([0, 1, 0], [0.1, 0.8, 0.3]))
