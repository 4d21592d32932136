"""Known answers of the popularity baseline on the tiny shop of conftest.py."""

from __future__ import annotations

import pytest

from models.errors import InvalidInputError, UnknownIdError
from recsys.popularity import PopularityRecommender
from recsys.types import ItemFilter, Recommendations

ALL = ItemFilter(in_stock_only=False)


def test_fit_returns_self_and_records_the_data_window(events, catalog):
    model = PopularityRecommender()
    assert model.fit(events, catalog) is model
    assert model.data_window_["end"] == "2024-03-31T12:00:00"
    assert model.data_window_["rows"] == len(events) - 5  # the five "ghost" events are ignored


def test_trending_ranks_by_time_decayed_weighted_popularity(model):
    result = model.trending(k=20, filters=ALL)
    assert result.source == "trending"
    assert result.item_ids[:6] == ["novel", "wok", "pan", "spatula", "pot", "rug"]
    # Ten old atlas purchases decay below two fresh rug purchases.
    assert result.item_ids.index("rug") < result.item_ids.index("atlas")
    assert result.items[0].score == 1.0 and result.items[0].reason == "Trending"


def test_catalog_is_the_source_of_truth(model):
    ids = model.trending(k=100, filters=ALL).item_ids
    assert "ghost" not in ids and not model.has_item("ghost")
    assert {"candle", "giftcard"} <= set(ids)  # no events, still recommendable
    assert len(ids) == 11  # k is capped by the catalog


def test_default_filter_drops_out_of_stock_items(model):
    assert "wok" not in model.trending(k=100).item_ids
    assert "wok" not in model.similar_items("pan", k=100).item_ids
    assert "wok" not in model.recommend(session_item_ids=["pot"], k=100).item_ids


def test_set_stock_takes_effect_on_the_next_call(model):
    assert model.set_stock(["wok", "novel", "nope"], [True, False, True]) == ["nope"]
    assert model.trending(k=2).item_ids == ["wok", "pan"]
    model.set_stock("novel", True)
    assert model.trending(k=1).item_ids == ["novel"]


def test_set_stock_rejects_mismatched_or_non_boolean_flags(model):
    with pytest.raises(InvalidInputError) as err:
        model.set_stock(["wok", "pan"], [True])
    assert err.value.field == "in_stock"
    with pytest.raises(InvalidInputError):
        model.set_stock(["wok"], ["false"])


def test_bought_together_ranks_co_purchases_then_fills_from_the_category(model):
    result = model.bought_together("pan")
    assert result.source == "bought_together"
    assert result.items[0].item_id == "spatula"
    assert result.items[0].reason == "Often bought with Frying Pan"
    assert [(i.item_id, i.reason) for i in result.items[1:]] == [
        ("pot", "Popular in Kitchen > Cookware"),
        ("ladle", "Popular in Kitchen"),
    ]
    assert model.bought_together("spatula").items[0].item_id == "pan"


def test_bought_together_needs_min_support(model, events, catalog):
    # novel and rug share a single order: not enough to call them "bought together".
    reasons = [i.reason for i in model.bought_together("novel").items]
    assert not any(r.startswith("Often bought") for r in reasons)
    loose = PopularityRecommender(min_support=1).fit(events, catalog)
    assert loose.bought_together("novel").items[0].item_id == "rug"


def test_similar_items_are_the_leaf_category_then_the_parent(model):
    result = model.similar_items("pot", k=10)
    assert result.source == "similar"
    assert [(i.item_id, i.reason) for i in result.items] == [
        ("pan", "Popular in Kitchen > Cookware"),
        ("spatula", "Popular in Kitchen"),
        ("ladle", "Popular in Kitchen"),
    ]


def test_similar_items_never_return_the_item_and_uncategorised_falls_back(model):
    for item in model.item_ids_.tolist():
        assert item not in model.similar_items(item, k=100, filters=ALL).item_ids
    fallback = model.similar_items("giftcard", k=3)
    assert fallback.item_ids == ["novel", "pan", "spatula"]
    assert fallback.items[0].reason == "Popular right now"


@pytest.mark.parametrize("method", ["similar_items", "bought_together", "item_title"])
def test_unknown_item_raises_unknown_id(model, method):
    with pytest.raises(UnknownIdError) as err:
        getattr(model, method)("nope")
    assert err.value.kind == "item" and "nope" in str(err.value)


def test_recommend_with_a_session_ranks_its_categories_first(model):
    result = model.recommend(session_item_ids=["pot"], k=5)
    assert result.source == "session"
    assert [(i.item_id, i.reason) for i in result.items] == [
        ("pan", "Popular in Kitchen > Cookware"),
        ("spatula", "Popular in Kitchen"),
        ("ladle", "Popular in Kitchen"),
        ("novel", "Popular right now"),
        ("rug", "Popular right now"),
    ]


def test_recommend_merges_the_categories_of_several_session_items(model):
    result = model.recommend(session_item_ids=["pot", "atlas", "ghost"], k=3)
    assert [(i.item_id, i.reason) for i in result.items] == [
        ("pan", "Popular in Kitchen > Cookware"),  # atlas's leaf has nothing else
        ("novel", "Popular in Books"),  # the parents' tier is merged by popularity
        ("spatula", "Popular in Kitchen"),
    ]


def test_recommend_without_a_known_session_is_popular(model):
    for session in ((), ("ghost",)):
        result = model.recommend(user_id="someone", session_item_ids=session, k=3)
        assert result.source == "popular"
        assert result.item_ids == ["novel", "pan", "spatula"]
        assert {i.reason for i in result.items} == {"Popular right now"}


def test_history_and_excluded_items_never_appear_but_k_is_still_filled(model):
    result = model.recommend(history_item_ids=["novel"], exclude_item_ids=["pan", "ghost"], k=3)
    assert result.item_ids == ["spatula", "pot", "rug"]


def test_a_lone_string_id_is_one_id_and_none_is_no_ids(model):
    assert "novel" not in model.recommend(history_item_ids="novel", k=3).item_ids
    assert model.recommend(exclude_item_ids=None, k=1).item_ids == ["novel"]  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["Kitchen", "kitchen > cookware", " Home>Lighting ", "Books"])
def test_category_filter_never_leaks(model, prefix):
    flt = ItemFilter(category=prefix, in_stock_only=False)
    wanted = prefix.replace(" ", "").lower()
    calls = [
        model.recommend(k=20, filters=flt),
        model.recommend(session_item_ids=["novel"], k=20, filters=flt),
        model.trending(k=20, filters=flt),
        model.similar_items("pan", k=20, filters=flt),
        model.bought_together("pan", k=20, filters=flt),
    ]
    for result in calls:
        for item in result.item_ids:
            path = model.categories_[model.index_[item]].replace(" ", "").lower()
            assert path == wanted or path.startswith(wanted + ">")


def test_category_prefix_is_level_aligned_and_unknown_matches_nothing(model):
    assert model.trending(category="Kitch").items == []
    assert model.trending(filters=ItemFilter(category="Nope")).items == []
    kitchen = model.trending(category="kitchen", k=10)
    assert kitchen.item_ids == ["pan", "spatula", "pot", "ladle"]
    assert kitchen.items[0].reason == "Trending in Kitchen"


def test_price_filter_is_inclusive(model):
    result = model.trending(k=20, filters=ItemFilter(price_min=15, price_max=45))
    prices = {model.item_ids_[i]: model.prices_[i] for i in range(len(model.item_ids_))}
    assert result.item_ids and all(15 <= prices[i] <= 45 for i in result.item_ids)
    assert "novel" in result.item_ids and "pot" in result.item_ids


@pytest.mark.parametrize(
    "flt",
    [
        ItemFilter(price_min=50, price_max=10),
        ItemFilter(price_min="cheap"),  # type: ignore[arg-type]
        ItemFilter(category=5),  # type: ignore[arg-type]
    ],
)
def test_bad_filters_are_invalid_input(model, flt):
    with pytest.raises(InvalidInputError):
        model.trending(filters=flt)


@pytest.mark.parametrize("k", [0, -1, 2.5, "3", True, None])
def test_k_must_be_a_positive_integer(model, k):
    for call in (
        lambda: model.recommend(k=k),
        lambda: model.trending(k=k),
        lambda: model.similar_items("pan", k=k),
        lambda: model.bought_together("pan", k=k),
    ):
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.field == "k"


def test_item_title(model):
    assert model.item_title("pan") == "Frying Pan"


def _all_calls(model, k, flt, exclude):
    yield model.recommend(k=k, filters=flt, exclude_item_ids=exclude)
    yield model.recommend(session_item_ids=["pot", "lamp"], history_item_ids=["novel"], k=k, filters=flt)
    yield model.trending(k=k, filters=flt)
    yield model.trending(k=k, category="Home", filters=flt)
    for item in ("pan", "novel", "giftcard", "rug"):
        yield model.similar_items(item, k=k, filters=flt)
        yield model.bought_together(item, k=k, filters=flt)


@pytest.mark.parametrize("k", [1, 3, 50])
@pytest.mark.parametrize("flt", [None, ALL, ItemFilter(price_max=30), ItemFilter(category="Kitchen")])
def test_invariants_scores_sorted_unique_capped(model, k, flt):
    for result in _all_calls(model, k, flt, exclude=["spatula"]):
        assert isinstance(result, Recommendations)
        scores = [i.score for i in result.items]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert len(result.items) <= k
        assert len(set(result.item_ids)) == len(result.item_ids)
        if flt is None or flt.in_stock_only:
            assert "wok" not in result.item_ids


def test_diversity_caps_and_consumables_apply_to_the_baseline_too(events, catalog):
    """The fallback takes the learned model's rule options (recsys.interface) and keeps them."""
    brands = {"pan": "Acme", "pot": "Acme", "wok": "Acme", "spatula": "Acme", "ladle": "Bolt"}
    model = PopularityRecommender().fit(events, catalog.assign(brand=catalog["item_id"].map(brands)))
    plain = model.recommend(k=6, filters=ALL).item_ids
    assert plain[:4] == ["novel", "wok", "pan", "spatula"]
    per_category = model.recommend(k=6, filters=ALL, max_per_category=1).item_ids
    leaves = [catalog.set_index("item_id").at[i, "category"] for i in per_category]
    assert len(set(leaves)) == len(leaves) == 6  # one per leaf category, still k items
    per_brand = model.recommend(k=6, filters=ALL, max_per_brand=1).item_ids
    assert sum(brands.get(i) == "Acme" for i in per_brand) == 1 and len(per_brand) == 6
    # Bought items are excluded, unless they lie under a consumable category.
    assert "novel" not in model.recommend(history_item_ids=["novel"], k=3).item_ids
    again = model.recommend(history_item_ids=["novel"], consumable_categories=["Books"], k=3).item_ids
    assert again[0] == "novel"
    with pytest.raises(InvalidInputError) as err:
        model.recommend(max_per_brand=0)
    assert err.value.field == "max_per_brand"


def test_brands_survive_save_and_load(events, catalog, tmp_path):
    model = PopularityRecommender().fit(events, catalog.assign(brand="Acme"))
    loaded = PopularityRecommender.load(model.save(tmp_path / "m"))
    assert (
        loaded.recommend(k=5, filters=ALL, max_per_brand=2).item_ids
        == model.recommend(k=5, filters=ALL, max_per_brand=2).item_ids
    )
    assert len(loaded.recommend(k=5, filters=ALL, max_per_brand=2).item_ids) == 2  # one brand in stock
