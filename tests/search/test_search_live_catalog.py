"""Live catalog updates on the hybrid model: added, changed and deleted items, and their persistence."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from search_support import make_catalog

from models.errors import DataValidationError
from search.hybrid import HybridSearch
from search.types import SearchFilters

NEW = {
    "item_id": "w1",
    "title": "Carbon Steel Wok 32cm",
    "description": "Round bottom wok",
    "category": "Kitchen > Cookware > Woks",
    "brand": "WokStar",
    "price": 39.0,
    "in_stock": True,
}


@pytest.fixture
def model() -> HybridSearch:
    return HybridSearch().fit(make_catalog())


def _ids(model: HybridSearch, query: str, **kw) -> list[str]:
    return [h.item_id for h in model.search(query, k=50, **kw).hits]


def test_a_new_item_is_found_on_the_next_query(model: HybridSearch) -> None:
    assert "w1" not in _ids(model, "wok")
    model.upsert_items(pd.DataFrame([NEW]))
    assert _ids(model, "wok")[0] == "w1"
    assert _ids(model, "wokstar")[0] == "w1"  # brand field, a word the index never saw
    assert _ids(model, "stir fry pan", filters=SearchFilters(brand="wokstar")) == ["w1"]  # vector side
    assert model.search("wok").facets["category_level_3"]["Kitchen > Cookware > Woks"] == 1
    assert model.search("wokk").corrected_query == "wok"  # the speller learned the new words


def test_a_deleted_item_never_comes_back(model: HybridSearch, tmp_path: Path) -> None:
    assert "s2" in _ids(model, "shampoo bottle")
    assert model.delete_items(["s2", "unknown"]) == ["s2"]
    for query in ("shampoo bottle", "travel size shampoo", "hair", "shampo"):
        for f in (None, SearchFilters(brand="Glow"), SearchFilters(category="Beauty")):
            assert "s2" not in _ids(model, query, filters=f)
    assert not model.has_item("s2")
    model.save(tmp_path)
    loaded = HybridSearch.load(tmp_path)
    assert "s2" not in _ids(loaded, "shampoo bottle travel size") and len(loaded.state_.items) == 10


def test_an_update_replaces_the_old_version(model: HybridSearch) -> None:
    changed = dict(NEW, item_id="g1", title="Garden Hose Reel 30m", in_stock=False, price=60.0)
    model.upsert_items(pd.DataFrame([changed]))
    hits = model.search("hose", k=10).hits
    assert [h.item_id for h in hits].count("g1") == 1
    assert hits[0].title == "Garden Hose Reel 30m"
    assert "g1" not in _ids(model, "hose", filters=SearchFilters(in_stock_only=True))
    assert _ids(model, "hose", filters=SearchFilters(price_min=50)) == ["g1"]


def test_deleting_and_re_adding_restores_the_item(model: HybridSearch) -> None:
    model.delete_items(["g1"])
    assert "g1" not in _ids(model, "garden hose")
    row = make_catalog().query("item_id == 'g1'")
    model.upsert_items(row)
    assert _ids(model, "garden hose")[0] == "g1"


def test_compaction_keeps_the_ranking(model: HybridSearch) -> None:
    model.upsert_items(pd.DataFrame([NEW]))
    model.delete_items(["p2"])
    before = {q: _ids(model, q) for q in ("pan", "wok", "steel", "shampoo")}
    model.compact()
    assert model.state_.n_dead == 0 and not model.state_.keyword.delta
    after = {q: _ids(model, q) for q in before}
    for q in before:  # BM25 statistics are refreshed, so order may move a little, never the set
        assert set(after[q]) == set(before[q])


def test_bad_rows_are_refused_and_change_nothing(model: HybridSearch) -> None:
    with pytest.raises(DataValidationError, match="title"):
        model.upsert_items(pd.DataFrame([{k: v for k, v in NEW.items() if k != "title"}]))
    with pytest.raises(DataValidationError, match="unique"):
        model.upsert_items(pd.DataFrame([NEW, NEW]))
    assert not model.has_item("w1") and len(model.state_.items) == 11
