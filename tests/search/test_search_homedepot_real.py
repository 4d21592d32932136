"""Real queries: on a bounded Home Depot subsample the tuned hybrid must beat the BM25 baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from search.bm25 import BM25Search
from search.hybrid import HybridSearch
from search.metrics import judgments_by_query, ndcg_at_k

N_QUERIES = 300
N_DISTRACTORS = 1500


@pytest.mark.slow
def test_hybrid_beats_bm25_on_real_judgments(real_dataset) -> None:
    raw = pd.read_parquet(
        real_dataset("homedepot-search-relevance") / "train.parquet",
        columns=["product_uid", "product_title", "search_term", "relevance"],
    )
    rng = np.random.default_rng(0)
    queries = rng.permutation(np.sort(raw["search_term"].unique()))[:N_QUERIES]
    judged_rows = raw[raw["search_term"].isin(set(queries))]
    others = raw[~raw["product_uid"].isin(set(judged_rows["product_uid"]))].drop_duplicates("product_uid")
    products = pd.concat([judged_rows, others.sample(N_DISTRACTORS, random_state=0)]).drop_duplicates(
        "product_uid"
    )
    catalog = pd.DataFrame(
        {
            "item_id": products["product_uid"].astype(str),
            "title": products["product_title"].astype(str),
            "description": "",
            "category": "",
            "brand": "",
            "price": np.nan,
            "in_stock": True,
        }
    )
    judgments = judgments_by_query(
        pd.DataFrame(
            {
                "query": judged_rows["search_term"],
                "item_id": judged_rows["product_uid"].astype(str),
                "relevance": judged_rows["relevance"] - 1.0,
            }
        )
    )
    names = sorted(judgments)
    tune = {q: judgments[q] for q in names[::2]}
    test = {q: judgments[q] for q in names[1::2]}

    model = HybridSearch().fit(catalog, tune)
    bm25 = BM25Search().fit(catalog)
    hybrid_ndcg = ndcg_at_k({q: [h.item_id for h in model.search(q).hits] for q in test}, test)
    bm25_ndcg = ndcg_at_k({q: [h.item_id for h in bm25.search(q).hits] for q in test}, test)
    assert model.fusion_ == "hybrid" and 0.0 < model.semantic_weight_ < 1.0
    assert hybrid_ndcg > bm25_ndcg * 1.03, (hybrid_ndcg, bm25_ndcg)
