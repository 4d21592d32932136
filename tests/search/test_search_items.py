"""Item details for product pages: ``items(ids)`` on both search models, and prices on hits."""

from __future__ import annotations

import math

from search_support import ROWS, make_catalog

from search.bm25 import BM25Search
from search.types import CatalogItem

BY_ID = {row[0]: row for row in ROWS}


def _expected(item_id: str) -> CatalogItem:
    _, title, _, category, brand, price, in_stock = BY_ID[item_id]
    return CatalogItem(item_id, title, category, brand, None if math.isnan(price) else price, in_stock)


def test_items_come_back_in_the_order_asked_and_unknown_ids_are_left_out(fitted, hybrid) -> None:
    for model in (fitted, hybrid):
        found = model.items(["s3", "nope", "p1", "x1"])
        assert found == [_expected("s3"), _expected("p1"), _expected("x1")]
        assert found[-1].price is None  # no price in the catalog: none, not NaN


def test_hits_carry_the_catalog_price_and_stock_flag(fitted, hybrid) -> None:
    for model in (fitted, hybrid):
        hits = model.search("pan", k=5).hits
        assert hits
        for hit in hits:
            expected = _expected(hit.item_id)
            assert (hit.title, hit.price, hit.in_stock) == (expected.title, expected.price, expected.in_stock)


def test_a_deleted_item_is_no_longer_described_and_an_added_one_is(tmp_path) -> None:
    from search.hybrid import HybridSearch

    model = HybridSearch().fit(make_catalog())
    model.delete_items(["p2"])
    new = make_catalog().iloc[[0]].assign(item_id="p9", title="Copper Pan", price=12.5)
    model.upsert_items(new)
    assert [i.item_id for i in model.items(["p2", "p9"])] == ["p9"]
    assert model.items(["p9"])[0].price == 12.5
    loaded = BM25Search.load(BM25Search().fit(make_catalog()).save(tmp_path / "bm25"))
    assert loaded.items(["p4"]) == [_expected("p4")]
