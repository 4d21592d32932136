"""The single-user serving path (``recsys.candidates_request``) gives what the batch path gives.

The batch path (``recsys.candidates.generate``: scipy products, a dense ALS pass) builds the
re-ranker's training rows; serving scores one profile in plain numpy with an ALS scan that stops
early. Same candidates, same features (ALS scores up to float32 rounding of a mat-vec), same
picks under chunked filtering.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

# The fixtures of the hybrid suite (a shop with known structure); imported, not copied.
from recsys_support import fake_embeddings, shop

from recsys import candidates_request, rules
from recsys.candidates import als_top, generate
from recsys.candidates_request import AlsRetriever, _spread, similar_ranking
from recsys.candidates_request import candidates_one as one_user
from recsys.hybrid import HybridRecommender
from recsys.interactions import CoPurchases
from recsys.profiles import ProfileRow, batch_profiles, merge_online
from recsys.sources import table_matrix
from recsys.types import ItemFilter


@pytest.fixture(scope="module")
def model() -> HybridRecommender:
    events, catalog = shop(seed=3, n_users=150)
    return HybridRecommender(factors=16, iterations=6, rerank_rounds=30).fit(
        events, catalog, embeddings=fake_embeddings(catalog)
    )


def _rows(model: HybridRecommender) -> list[ProfileRow]:
    """Stored histories plus a few with online events folded in (new items, repeats, purchases)."""
    stored = [ProfileRow(*model.history_.row(r)) for r in range(0, len(model.history_.user_ids), 4)]
    online = [
        merge_online(row, session=[3, 5, 3], purchased=[7], session_weight=1.0, purchase_weight=5.0)
        for row in stored[:8]
    ]
    anonymous = merge_online(
        ProfileRow(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)),
        session=[11, 2],
        purchased=[],
        session_weight=1.0,
        purchase_weight=5.0,
    )
    return [*stored, *online, anonymous]


@pytest.mark.parametrize("block_seen", [False, True])
def test_single_user_candidates_equal_the_batch_path(model, block_seen):
    n_items = len(model.popular_.item_ids_)
    for row in _rows(model):
        profiles = batch_profiles([row], n_items, max_recent=20, recent_half_life=3.0)
        batch = generate(
            profiles,
            model.tables_,
            model.attrs_,
            per_source=50,
            blocked=profiles.seen if block_seen else None,
        )
        items, features, best = one_user(
            row,
            model.tables_,
            model.attrs_,
            model.als_retriever_,
            per_source=50,
            max_recent=20,
            recent_half_life=3.0,
            block_seen=block_seen,
        )
        np.testing.assert_array_equal(items, batch.items)
        np.testing.assert_array_equal(best, batch.best_source)
        # Column 0 (ALS score): a mat-vec instead of a matrix product, float32 rounding only.
        np.testing.assert_allclose(features[:, 0], batch.features[:, 0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(features[:, 1:], batch.features[:, 1:])
        if block_seen:
            assert not set(items.tolist()) & set(row.items.tolist())


class _Factors:
    """Stands in for the implicit model: the retriever reads only ``item_factors``."""

    def __init__(self, factors: np.ndarray) -> None:
        self.item_factors = factors


@pytest.mark.parametrize("first_block", [3, 64, 2048])
def test_als_scan_with_the_norm_bound_is_exact(monkeypatch, first_block):
    monkeypatch.setattr(candidates_request, "FIRST_BLOCK", first_block)
    rng = np.random.default_rng(0)
    factors = (rng.normal(size=(3000, 8)) * rng.pareto(2.0, size=(3000, 1))).astype(np.float32)
    factors[rng.random(3000) < 0.6] = 0  # items without events have zero factors
    retriever = AlsRetriever(_Factors(factors))
    for trial in range(40):
        vector = rng.normal(size=8).astype(np.float32) * (1e-3 if trial % 5 == 0 else 1.0)
        blocked = np.sort(rng.choice(3000, size=int(rng.integers(0, 60)), replace=False))
        n = int(rng.integers(1, 120))
        top, score = retriever.top(vector, blocked, n, 3000)
        scores = factors @ vector
        exact = als_top(scores, blocked, n)
        assert len(set(top.tolist())) == len(top) == len(exact)
        assert not set(top.tolist()) & set(blocked.tolist())
        # Same scores in the same order; items may differ only inside a tie at the cut.
        np.testing.assert_allclose(scores[top], scores[exact], rtol=1e-5, atol=1e-6)
        untied = scores[exact] > scores[exact].min() + 1e-6
        assert set(exact[untied].tolist()) <= set(top.tolist())
        np.testing.assert_allclose(score(top), scores[top], rtol=1e-5, atol=1e-6)


def test_sparse_spread_equals_the_scipy_product():
    rng = np.random.default_rng(1)
    n_items, n_pairs = 400, 6000
    pairs = np.unique(rng.integers(0, n_items * n_items, n_pairs))  # distinct (row, col), row-major
    shuffled = np.lexsort((rng.random(len(pairs)), pairs // n_items))  # columns unsorted in a row
    row, col = pairs[shuffled] // n_items, pairs[shuffled] % n_items
    indptr = np.searchsorted(row, np.arange(n_items + 1))
    table = table_matrix(CoPurchases(indptr, col, rng.random(len(col))), n_items)
    for size in [0, 1, 1, 2, *rng.integers(0, 25, 26).tolist()]:
        seeds = rng.choice(n_items, size=size, replace=False)
        weights = rng.random(len(seeds)).astype(np.float32)
        vector = sp.csr_matrix((weights, seeds, [0, len(seeds)]), shape=(1, n_items))
        expected = (vector @ table).tocsr()
        expected.sort_indices()
        indices, values = _spread(table, seeds, weights)
        np.testing.assert_array_equal(indices, expected.indices)
        np.testing.assert_array_equal(values, expected.data)


@pytest.mark.parametrize(
    "flt",
    [
        ItemFilter(),
        ItemFilter(category="Books", price_max=40),
        ItemFilter(category="Garden > Leaf5", in_stock_only=False),
        ItemFilter(price_min=90),
        ItemFilter(category="Nowhere"),
    ],
)
def test_chunked_filtering_picks_what_one_mask_picks(model, monkeypatch, flt):
    users = [str(u) for u in model.history_.user_ids[:12]]
    expected = {u: model.recommend(user_id=u, k=25, filters=flt, max_per_category=3) for u in users}
    trending = model.recommend(k=25, filters=flt)
    monkeypatch.setattr(rules, "CHUNK", 1)
    for user in users:
        assert model.recommend(user_id=user, k=25, filters=flt, max_per_category=3) == expected[user]
    assert model.recommend(k=25, filters=flt) == trending


def _dense_similar(model: HybridRecommender, item: int, pool: int) -> np.ndarray:
    """The catalog-sized reference ``similar_ranking`` replaced (kept here as the oracle)."""
    factors = model.item_factors_
    unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
    combined = np.zeros(len(factors))
    for table in (model.tables_.content, model.tables_.covisit):
        row = table[item]
        if row.nnz:
            combined[row.indices] += row.data / row.data.max()
    cosine = unit @ unit[item]
    top = np.argpartition(-cosine, min(pool, len(cosine) - 1))[:pool]
    combined[top] += 0.5 * np.clip(cosine[top], 0, None)
    combined[item] = 0
    found = np.flatnonzero(combined > 0)
    return found[np.argsort(-combined[found], kind="stable")]


@pytest.mark.parametrize("pool", [5, 100])
def test_similar_ranking_equals_the_dense_reference(model, pool):
    ids, unit = model.pages_._unit_factors
    for item in range(len(model.popular_.item_ids_)):
        got = similar_ranking(item, (model.tables_.content, model.tables_.covisit), ids, unit, pool=pool)
        np.testing.assert_array_equal(got, _dense_similar(model, item, pool))


@pytest.mark.parametrize(
    "flt", [ItemFilter(), ItemFilter(category="Kitchen"), ItemFilter(category="Books", price_max=60)]
)
def test_scoring_only_allowed_candidates_keeps_their_order(model, flt):
    # stage_rankings scores every candidate and filters afterwards; recommend scores only the
    # allowed ones. Wherever the ranked candidates fill k, both must give the same list.
    users = [str(u) for u in model.history_.user_ids[:40]]
    reranked = model.stage_rankings(users, filters=flt, k=5)["reranked"]
    compared = 0
    for user in users:
        if len(reranked[user]) == 5:
            assert model.recommend(user_id=user, k=5, filters=flt).item_ids == reranked[user]
            compared += 1
    assert compared >= 10
