"""The learned re-ranker of the hybrid search: features, training gate, serving path, persistence."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from search.fusion import Candidates
from search.hybrid import HybridSearch
from search.rerank import FEATURES, RERANK_FILE, features
from search.text import tokenize

COLORS = ("red", "blue", "green", "black", "white", "grey")
MATERIALS = ("steel", "wood", "glass", "plastic")
NOUNS = ("pan", "chair", "lamp", "shelf", "bowl", "table", "hook", "vase", "tray", "stool")


def _catalog() -> pd.DataFrame:
    rows = [
        {
            "item_id": f"i{n}",
            "title": f"{c.title()} {m.title()} {noun.title()} {3 + n % 4}/4 in",
            "category": "Home",
            "brand": "Acme",
            "price": 10.0,
            "in_stock": True,
        }
        for n, (c, m, noun) in enumerate(itertools.product(COLORS, MATERIALS, NOUNS))
    ]
    return pd.DataFrame(rows)


def _judgments(catalog: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Contrary to the fusion on purpose: only the noun (the last word) 2, both words 0.5.

    The fused order puts full matches first, so only a re-ranker that learned from the
    judgments can do better on the held-out queries.
    """
    out: dict[str, dict[str, float]] = {}
    pairs = itertools.chain(itertools.product(COLORS, NOUNS), itertools.product(MATERIALS, NOUNS))
    for first, noun in pairs:
        words = catalog["title"].str.lower().str.split()
        out[f"{first} {noun}"] = {
            item: (0.5 if first in w else 2.0)
            for item, w in zip(catalog["item_id"], words, strict=True)
            if noun in w
        }
    return out


@pytest.fixture(scope="module")
def reranked() -> HybridSearch:
    catalog = _catalog()
    return HybridSearch(fusion="score", rerank_min_queries=50).fit(catalog, _judgments(catalog))


def test_the_reranker_learns_what_the_judgments_reward(reranked: HybridSearch) -> None:
    report = (reranked.tuning_ or {})["rerank"]
    assert report["trained"] and report["valid_queries"] == 20 and report["train_queries"] == 80
    assert report["kept"] and reranked.reranker_ is not None
    assert report["valid_ndcg_reranked"] > report["valid_ndcg_fused"]
    top = reranked.search("red pan", k=5).hits
    assert all("Red" not in h.title and "Pan" in h.title for h in top), [h.title for h in top]


def test_too_few_judged_queries_train_no_reranker() -> None:
    catalog = _catalog()
    model = HybridSearch(fusion="score").fit(catalog, _judgments(catalog))  # 100 < 500 queries
    assert model.reranker_ is None and "rerank" not in (model.tuning_ or {})


def test_reranked_results_survive_save_and_load(reranked: HybridSearch, tmp_path: Path) -> None:
    reranked.save(tmp_path)
    assert reranked.reranker_ is not None and (tmp_path / RERANK_FILE).exists()
    loaded = HybridSearch.load(tmp_path)
    for query in ("red pan", "steel lamp 3/4", "wood chiar", "something to sit on"):
        a, b = reranked.search(query, k=10), loaded.search(query, k=10)
        assert [(h.item_id, round(h.score, 9)) for h in a.hits] == [
            (h.item_id, round(h.score, 9)) for h in b.hits
        ]


def test_the_reranker_reorders_only_within_the_window(reranked: HybridSearch) -> None:
    assert reranked.reranker_ is not None, reranked.tuning_
    c = reranked.candidates("red pan")
    fused = np.linspace(1.0, 0.0, len(c.rows))
    items = reranked._fitted().items
    reranked.reranker_.top_k = 5
    try:
        out = reranked.reranker_.rescore(c, fused, items)
    finally:
        reranked.reranker_.top_k = reranked.rerank_k
    assert np.all((out[:5] >= 0) & (out[:5] <= 1)) and np.all(out[5:] < 0)
    assert np.all(np.diff(out[5:]) < 0)  # below the window the fused order is kept


def test_match_features_read_the_titles() -> None:
    c = Candidates(
        rows=np.array([0, 1]),
        bm25=np.array([2.0, 1.0], dtype=np.float32),
        cosine=np.array([0.5, 0.7], dtype=np.float32),
        coverage=np.array([1.0, 0.5]),
        tokens=("red", "pan", "3"),
    )
    titles = [tokenize("Red Pan 3 in"), tokenize("Blue Pot")]
    x = features(c, np.array([0.9, 0.4]), np.array([0, 1]), c.tokens, titles, corrected=False)
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert col["last_word"].tolist() == [1.0, 0.0] and col["numbers"].tolist() == [1.0, 0.0]
    assert col["bigrams"].tolist() == [1.0, 0.0] and col["bm25_share"].tolist() == [1.0, 0.5]
    assert col["title_coverage"].tolist() == [1.0, 0.0] and col["query_words"].tolist() == [3, 3]
