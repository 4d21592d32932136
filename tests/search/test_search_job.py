"""The training job on tiny stores: the hybrid, the BM25 bar it is compared with, and what it reports."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.errors import DataValidationError
from search.hybrid import HybridSearch
from training.jobs.search import train
from training.store import StoreData

# Filler items share the word "set" with one query, so the unranked baseline has many decoys.
FILLER = [(f"f{i}", f"Storage box set {i}", "", "Home > Storage", "Boxy", 9.0, True) for i in range(40)]
JUDGED = [
    ("pan set", "p1", 3.0),
    ("pan set", "p2", 3.0),
    ("pan set", "p4", 3.0),
    ("pan set", "gone", 3.0),  # not in the catalog: dropped and counted
    ("shampoo bottle", "s2", 3.0),
    ("shampoo bottle", "s3", 2.0),
    ("shampoo bottle", "s1", 0.0),
    ("steel set", "p3", 3.0),
    ("hose", "g1", 3.0),
    ("   ", "g1", 1.0),  # blank query: dropped and counted
]


@pytest.fixture
def store(catalog: pd.DataFrame) -> StoreData:
    filler = pd.DataFrame(FILLER, columns=catalog.columns[:7]).assign(created_at=pd.Timestamp("2024-02-01"))
    judgments = pd.DataFrame(JUDGED, columns=["query", "item_id", "relevance"])
    return StoreData(catalog=pd.concat([catalog, filler], ignore_index=True), search_judgments=judgments)


def test_hybrid_is_graded_next_to_bm25_and_random(store: StoreData) -> None:
    result = train(store, seed=0)
    m = result.metrics
    assert isinstance(result.model, HybridSearch)
    assert result.primary_metric == "ndcg_at_10" and result.greater_is_better
    prefixes = ("", "bm25_", "semantic_", "rrf_", "hybrid_", "baseline_bm25_", "baseline_random_match_")
    assert set(m) == {f"{p}{name}_at_10" for p in prefixes for name in ("ndcg", "mrr", "recall")}
    assert m["ndcg_at_10"] > m["baseline_random_match_ndcg_at_10"]
    assert m["mrr_at_10"] == 1.0  # the demo-store and real-data tests compare with BM25
    assert result.params["n_judgments_unknown_item"] == 1
    assert result.params["n_judgments_blank_query"] == 1
    assert result.params["n_judged_queries"] == result.params["n_evaluated_queries"] == 4
    # cross-fitted: every judged query is evaluated once, by the fusion tuned on the other half
    assert result.params["n_tuning_queries"] == result.params["n_evaluation_queries"] == 4
    assert result.evaluation is not None and result.evaluation.n_cases == 4
    assert result.evaluation.metric() == pytest.approx(m["ndcg_at_10"])
    assert result.evaluation.metric("bm25") == pytest.approx(m["baseline_bm25_ndcg_at_10"])
    assert result.baselines == ("bm25",)
    assert result.params["n_items"] == 51
    # tuned score fusion, or RRF when tuning could not beat it on these few queries
    assert result.params["fusion"] in {"hybrid", "rrf"} and result.params["fusion_tuned"]
    assert 0.0 <= result.params["semantic_weight"] <= 1.0


def test_same_seed_same_metrics(store: StoreData) -> None:
    assert train(store, seed=3).metrics == train(store, seed=3).metrics


def test_without_judgments_metrics_are_empty(store: StoreData) -> None:
    store.search_judgments = None
    result = train(store, seed=0)
    assert result.metrics == {} and "skipped" in result.params["evaluation"]
    assert result.params["fusion"] == "rrf" and not result.params["fusion_tuned"]
    assert {"p1", "p2", "p4"} <= {h.item_id for h in result.model.search("pan").hits}


def test_without_catalog_fails_clearly() -> None:
    with pytest.raises(DataValidationError, match="catalog"):
        train(StoreData(), seed=0)


@pytest.mark.slow
def test_on_the_demo_store(tmp_path) -> None:
    try:
        from training.data import load_store
        from training.demo import generate_store
    except ImportError as exc:
        pytest.skip(f"the demo store generator/loader is not available yet: {exc}")
    generate_store(tmp_path, seed=0, scale="small")
    store = load_store(tmp_path)
    result = train(store, seed=0)
    if store.search_judgments is None:
        assert result.metrics == {}
    else:
        assert not math.isnan(result.metrics["ndcg_at_10"])
        assert result.metrics["ndcg_at_10"] >= result.metrics["baseline_random_match_ndcg_at_10"]
        assert result.metrics["ndcg_at_10"] >= result.metrics["baseline_bm25_ndcg_at_10"]
