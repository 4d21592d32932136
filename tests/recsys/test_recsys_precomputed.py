"""Precomputed ranked lists (``recsys.precomputed``) answer exactly as the request path would."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest

# The fixtures of the hybrid suite (a shop with known structure); imported, not copied.
from recsys_support import fake_embeddings, shop

from models.errors import InvalidInputError
from recsys.hybrid import HybridRecommender
from recsys.precomputed import chosen_users
from recsys.types import ItemFilter


@pytest.fixture(scope="module")
def model() -> HybridRecommender:
    events, catalog = shop(seed=5, n_users=120)
    return HybridRecommender(factors=16, iterations=6, rerank_rounds=30).fit(
        events, catalog, embeddings=fake_embeddings(catalog)
    )


def _full_path(model: HybridRecommender) -> HybridRecommender:
    """The same fitted model without its precomputed lists: every request computes."""
    other = copy.copy(model)
    other.shoppers_ = dataclasses.replace(model.shoppers_, ranked=None)  # its own query part
    return other


RULES = [
    {},
    {"filters": ItemFilter(category="Kitchen")},
    {"filters": ItemFilter(price_min=20, price_max=80), "max_per_category": 1},
    {"filters": ItemFilter(in_stock_only=False), "max_per_brand": 1, "k": 25},
    {"filters": ItemFilter(category="Nowhere")},
]


@pytest.mark.parametrize("options", RULES)
def test_precomputed_answers_equal_the_request_path(model: HybridRecommender, options: dict) -> None:
    assert model.ranked_ is not None and len(model.ranked_) > 0
    full = _full_path(model)
    users = [str(u) for u in model.history_.user_ids]
    options = {"k": 10, **options}
    exclude = {"exclude_item_ids": [str(i) for i in model.popular_.item_ids_[:5]]}
    for user in users:
        assert model.recommend(user_id=user, **options) == full.recommend(user_id=user, **options)
        assert model.recommend(user_id=user, **options, **exclude) == full.recommend(
            user_id=user, **options, **exclude
        )
    batch = model.recommend_batch(users[:30], k=8, filters=options.get("filters"))
    assert batch == full.recommend_batch(users[:30], k=8, filters=options.get("filters"))


def test_stock_changes_apply_to_precomputed_lists(model: HybridRecommender) -> None:
    user = str(model.history_.user_ids[0])
    before = model.recommend(user_id=user, k=5)
    gone = before.item_ids[0]
    model.set_stock([gone], False)
    try:
        after = model.recommend(user_id=user, k=5)
        assert gone not in after.item_ids
        assert after == _full_path(model).recommend(user_id=user, k=5)
    finally:
        model.set_stock([gone], True)


def test_online_events_take_the_request_path(model: HybridRecommender, monkeypatch) -> None:
    user = str(model.history_.user_ids[1])
    calls = []
    original = model.shoppers_._candidates
    monkeypatch.setattr(
        model.shoppers_, "_candidates", lambda queries: calls.append(len(queries)) or original(queries)
    )
    model.recommend(user_id=user, k=5)
    assert calls == [], "a known user without new events reads the precomputed list"
    session = [str(i) for i in model.popular_.item_ids_[10:12]]
    got = model.recommend(user_id=user, k=5, session_item_ids=session)
    assert calls == [1]
    assert got == _full_path(model).recommend(user_id=user, k=5, session_item_ids=session)


def test_precomputed_lists_survive_save_and_load(model: HybridRecommender, tmp_path: Path) -> None:
    loaded = HybridRecommender.load(model.save(tmp_path / "m"))
    assert loaded.ranked_ is not None
    for name, array in model.ranked_.arrays().items():
        np.testing.assert_array_equal(loaded.ranked_.arrays()[name], array)
    for user in [str(u) for u in model.history_.user_ids[:20]]:
        assert loaded.recommend(user_id=user, k=10) == model.recommend(user_id=user, k=10)


def test_precompute_limit_keeps_the_longest_histories() -> None:
    lengths = np.array([3, 0, 7, 7, 1, 5])
    np.testing.assert_array_equal(chosen_users(lengths, 3), [2, 3, 5])
    np.testing.assert_array_equal(chosen_users(lengths, 10), [0, 2, 3, 4, 5])
    assert len(chosen_users(lengths, 0)) == 0


def test_precompute_can_be_turned_off_and_is_validated() -> None:
    events, catalog = shop(seed=6, n_users=40)
    off = HybridRecommender(factors=8, iterations=3, rerank_rounds=10, precompute_users=0)
    assert off.fit(events, catalog, embeddings=fake_embeddings(catalog)).ranked_ is None
    with pytest.raises(InvalidInputError, match="precompute_users"):
        HybridRecommender(precompute_users=-1).fit(events, catalog, embeddings=fake_embeddings(catalog))


def _without_similar(model: HybridRecommender) -> HybridRecommender:
    other = copy.copy(model)
    other.pages_ = dataclasses.replace(model.pages_, similar=None)  # its own page part
    return other


@pytest.mark.parametrize(
    "k, flt",
    [
        (10, ItemFilter()),
        (100, ItemFilter(in_stock_only=False)),  # longer than the stored prefix
        (5, ItemFilter(category="Kitchen")),
        (10, ItemFilter(price_min=70)),  # filters that read past the prefix
        (3, ItemFilter(category="Nowhere")),
    ],
)
def test_precomputed_similar_pages_equal_the_full_ranking(model: HybridRecommender, k, flt) -> None:
    assert model.similar_ is not None and len(model.similar_) == len(model.popular_.item_ids_)
    full = _without_similar(model)
    for item_id in model.popular_.item_ids_:
        assert model.similar_items(str(item_id), k=k, filters=flt) == full.similar_items(
            str(item_id), k=k, filters=flt
        )


def test_similar_prefixes_are_the_start_of_the_ranking(model: HybridRecommender) -> None:
    for item in range(len(model.popular_.item_ids_)):
        prefix, truncated = model.similar_.of(item)
        ranking = model.pages_._similar_ranking(item)
        np.testing.assert_array_equal(prefix, ranking[: len(prefix)])
        assert truncated == (len(ranking) > len(prefix))


def test_similar_precompute_limit_and_save_load(tmp_path: Path) -> None:
    events, catalog = shop(seed=7, n_users=60)
    some = HybridRecommender(factors=8, iterations=3, rerank_rounds=10, precompute_items=5).fit(
        events, catalog, embeddings=fake_embeddings(catalog)
    )
    assert len(some.similar_) == 5
    by_popularity = np.lexsort((np.arange(len(some.attrs_.popularity)), -some.attrs_.popularity))
    stored = [i for i in range(len(some.popular_.item_ids_)) if some.similar_.of(i) is not None]
    assert stored == sorted(by_popularity[:5].tolist())
    loaded = HybridRecommender.load(some.save(tmp_path / "m"))
    full = _without_similar(some)
    for item_id in some.popular_.item_ids_:
        assert loaded.similar_items(str(item_id), k=10) == full.similar_items(str(item_id), k=10)
    off = HybridRecommender(factors=8, iterations=3, rerank_rounds=10, precompute_items=0)
    assert off.fit(events, catalog, embeddings=fake_embeddings(catalog)).similar_ is None


def test_truncated_similar_prefixes_fall_back_exactly(monkeypatch) -> None:
    from recsys import item_pages

    monkeypatch.setattr(item_pages, "SIMILAR_PREFIX", 3)
    events, catalog = shop(seed=8, n_users=80)
    short = HybridRecommender(factors=8, iterations=3, rerank_rounds=10).fit(
        events, catalog, embeddings=fake_embeddings(catalog)
    )
    truncated = sum(short.similar_.of(i)[1] for i in range(len(short.popular_.item_ids_)))
    assert truncated > len(short.popular_.item_ids_) // 2, "most rankings are longer than 3"
    full = _without_similar(short)
    for flt in (ItemFilter(), ItemFilter(category="Kitchen"), ItemFilter(price_max=40)):
        for k in (2, 3, 5, 10):
            for item_id in short.popular_.item_ids_:
                got = short.similar_items(str(item_id), k=k, filters=flt)
                assert got == full.similar_items(str(item_id), k=k, filters=flt)
