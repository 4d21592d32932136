"""Autocomplete stays fresh with live catalog updates (upsert, replace, delete, then rebuild)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from search_support import make_catalog

from search.hybrid import HybridSearch
from search.suggest import Suggester, build_vocabulary

WOK = {
    "item_id": "w1",
    "title": "Carbon Steel Wok",
    "description": "",
    "category": "Kitchen > Cookware > Woks",
    "brand": "WokStar",
    "price": 39.0,
    "in_stock": True,
}


@pytest.fixture
def model() -> HybridSearch:
    return HybridSearch().fit(make_catalog())


def test_a_new_items_words_brand_and_category_are_suggested(model: HybridSearch) -> None:
    assert model.suggest("wok") == []
    model.upsert_items(pd.DataFrame([WOK]))
    assert model.suggest("wok") == ["wok", "woks", "wokstar"]
    assert "carbon" in model.suggest("carb")


def test_a_deleted_items_words_are_no_longer_suggested(model: HybridSearch, tmp_path: Path) -> None:
    assert "garden" in model.suggest("gard") and "hose" in model.suggest("hos")
    model.delete_items(["g1"])  # the only garden item
    assert model.suggest("gard") == [] and model.suggest("hos") == []
    assert "shampoo" in model.suggest("sha")  # other items' terms untouched
    model.save(tmp_path)  # the rebuild folds the delta in: the same answers
    assert HybridSearch.load(tmp_path).suggest("gard") == []


def test_a_replaced_item_suggests_its_new_title_only(model: HybridSearch) -> None:
    model.upsert_items(pd.DataFrame([dict(WOK, item_id="g1", category="Garden > Watering")]))
    assert model.suggest("hos") == []  # "Garden Hose 50ft" is gone
    assert model.suggest("wok") == ["wok", "wokstar"]
    assert model.suggest("gard") == ["garden"]  # still the category of the new version


def test_the_delta_reweights_existing_terms_like_a_rebuild() -> None:
    titles = ["red pan", "red pot", "red pot", "blue pan"]
    rows = [(t, "", "") for t in titles]
    base = Suggester(*build_vocabulary(titles, [""] * 4, [""] * 4))
    live = base.with_items(added=[("red pan", "", ""), ("red pan", "", "")], removed=rows[1:3])
    final = ["red pan"] * 3 + ["blue pan"]
    rebuilt = Suggester(*build_vocabulary(final, [""] * 4, [""] * 4))
    for prefix in ("r", "red ", "red p", "p", "b"):
        assert live.complete(prefix, 5) == rebuilt.complete(prefix, 5), prefix
    assert base.complete("red p", 5) == ["red pot", "red pan"]  # the base is never changed


def test_an_empty_delta_is_the_plain_suggester() -> None:
    s = Suggester(["a", "ab"], np.array([1, 2]), {"a": 0})
    assert s.delta == {} and s.complete("a", 5) == ["ab", "a"]
