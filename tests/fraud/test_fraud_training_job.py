"""training.jobs.fraud on a small synthetic store (and the demo store when it exists)."""

from __future__ import annotations

import pytest

from fraud.velocity_model import VelocityFraudModel
from models.errors import DataValidationError
from training.jobs import fraud as job
from training.store import StoreData


@pytest.fixture(scope="module")
def result(make_tx):
    return job.train(StoreData(transactions=make_tx(4000, days=40, seed=2)), seed=0)


def test_job_returns_a_model_fit_on_all_data(result):
    assert isinstance(result.model, VelocityFraudModel)
    assert result.model.data_window_["rows"] == 4000
    assert result.model.config_.entities == ("customer_id", "terminal_id", "device_id")
    assert (result.primary_metric, result.greater_is_better) == ("average_precision", True)


def test_job_metrics_beat_the_amount_only_rule(result):
    m = result.metrics
    expected = {
        "average_precision",
        "roc_auc",
        "card_precision_at_k",
        "decline_rate",
        "review_rate",
        "decline_precision",
        "baseline_amount_only_average_precision",
        "baseline_amount_only_roc_auc",
        "baseline_raw_average_precision",
        "baseline_raw_roc_auc",
        "baseline_raw_card_precision_at_k",
        "brier",
        "ece",
        "threshold_review",
        "threshold_decline",
    }
    assert expected <= set(m)
    assert m["average_precision"] > 0.9 > m["baseline_amount_only_average_precision"]
    assert m["roc_auc"] > 0.95
    assert 0.0 <= m["decline_rate"] + m["review_rate"] <= 1.0


def test_job_logs_an_honest_time_split(result):
    p = result.params
    assert p["train_end"] < p["holdout_start"] <= p["holdout_end"]
    assert p["train_rows"] + p["holdout_rows"] < 4000  # the gap drops rows with unknown labels
    assert p["card_precision_k"] >= 1
    assert all(isinstance(v, str | int | float) for v in p.values())


def test_job_needs_labels(make_tx):
    with pytest.raises(DataValidationError, match="is_fraud"):
        job.train(StoreData(transactions=make_tx(200).drop(columns=["is_fraud"])), seed=0)
    with pytest.raises(DataValidationError):
        job.train(StoreData(), seed=0)
    with pytest.raises(DataValidationError) as err:
        job.train(StoreData(transactions=make_tx(200).drop(columns=["customer_id"])), seed=0)
    assert err.value.column == "customer_id"


def test_job_needs_fraud_in_both_parts(make_tx):
    tx = make_tx(1000, days=10)
    tx.loc[tx["timestamp"] >= tx["timestamp"].quantile(0.7), "is_fraud"] = 0
    with pytest.raises(DataValidationError, match="holdout"):
        job.train(StoreData(transactions=tx), seed=0)


@pytest.mark.slow
def test_job_on_the_demo_store(tmp_path):
    try:
        from training.data import load_store
        from training.demo import generate_store
    except ImportError as exc:  # written in parallel by another engineer
        pytest.skip(f"training.demo.generate_store / training.data.load_store not importable yet: {exc}")
    generate_store(tmp_path / "store", seed=0, scale="small")
    store = load_store(tmp_path / "store")
    if store.transactions is None or "is_fraud" not in store.transactions.columns:
        pytest.skip("the demo store has no labelled transactions")
    result = job.train(store, seed=0)
    m = result.metrics
    # The demo's planted fraud (card testing bursts, takeovers) needs history: velocity features
    # must beat the raw-column model clearly (measured: AP 0.93 vs 0.17 with seed 0).
    assert m["average_precision"] > max(0.6, 2 * m["baseline_raw_average_precision"])
    assert m["baseline_raw_average_precision"] > m["baseline_amount_only_average_precision"]
    assert m["review_rate"] <= 0.03
