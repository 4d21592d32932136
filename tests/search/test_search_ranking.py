"""Ranking, filters, facets and totals on the tiny known catalog."""

from __future__ import annotations

import itertools

import pytest

from search.bm25 import BM25Search
from search.text import tokenize
from search.types import SearchFilters, SearchResult


def ids(result: SearchResult) -> list[str]:
    return [h.item_id for h in result.hits]


def test_pan_finds_the_pans_first(fitted: BM25Search) -> None:
    result = fitted.search("pan")
    assert set(ids(result)) == {"p1", "p2", "p4"}  # "saucepan" is another word
    assert result.total == 3
    assert ids(result)[:2] == ["p1", "p2"]  # title and category both say pan(s)


def test_plural_and_case_insensitive(fitted: BM25Search) -> None:
    assert fitted.search("PANS") == fitted.search("pan")
    assert fitted.search("Shampoos") == fitted.search("shampoo")


def test_repeated_query_words_count_once(fitted: BM25Search) -> None:
    assert fitted.search("pan pan pan") == fitted.search("pan")


def test_scores_sorted_and_k_caps_hits(fitted: BM25Search) -> None:
    full = fitted.search("shampoo bottle", k=50)
    scores = [h.score for h in full.hits]
    assert scores == sorted(scores, reverse=True)
    assert set(ids(full)[:2]) == {"s2", "s3"}  # both words beat one
    assert full.total == len(full.hits) == 4  # s4 mentions shampoo in its description
    one = fitted.search("shampoo bottle", k=1)
    assert len(one.hits) == 1 and one.total == 4 and one.hits[0] == full.hits[0]


def test_unknown_or_stopword_only_query_is_empty(fitted: BM25Search) -> None:
    for query in ("zzzz", "the of"):
        result = fitted.search(query)
        assert result.hits == [] and result.total == 0
        assert result.facets == {"category": {}, "brand": {}}


def test_hit_carries_title(fitted: BM25Search) -> None:
    hit = fitted.search("hose").hits[0]
    assert (hit.item_id, hit.title) == ("g1", "Garden Hose 50ft") and hit.score > 0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(category="kitchen > cookware"), {"p1", "p2"}),
        (SearchFilters(category="Kitchen > Cookware > Pans"), {"p1", "p2"}),
        (SearchFilters(category="Kitchen"), {"p1", "p2", "p4"}),
        (SearchFilters(category="Kitch"), set()),  # segment prefix, not character prefix
        (SearchFilters(category="Garden"), set()),
        (SearchFilters(brand="ACME"), {"p1"}),
        (SearchFilters(brand="Nobody"), set()),
        (SearchFilters(price_max=29.99), {"p1", "p4"}),  # inclusive
        (SearchFilters(price_min=29.99, price_max=45.0), {"p1", "p2"}),
        (SearchFilters(in_stock_only=True), {"p1", "p4"}),
        (SearchFilters(category="", brand=""), {"p1", "p2", "p4"}),  # blank = absent
        (SearchFilters(category="Kitchen", brand="acme", in_stock_only=True), {"p1"}),
    ],
)
def test_filters(fitted: BM25Search, filters: SearchFilters, expected: set[str]) -> None:
    result = fitted.search("pans", k=10, filters=filters)
    assert set(ids(result)) == expected
    assert result.total == len(expected)


def _passes(row: tuple, f: SearchFilters) -> bool:
    _, _, _, category, brand, price, in_stock = row
    path = category.lower().split(" > ")
    if f.category and path[: len(f.category.split(">"))] != [
        s.strip().lower() for s in f.category.split(">")
    ]:
        return False
    if f.brand and brand.lower() != f.brand.lower():
        return False
    if f.price_min is not None and not price >= f.price_min:
        return False
    if f.price_max is not None and not price <= f.price_max:
        return False
    return in_stock or not f.in_stock_only


FILTER_GRID = [
    SearchFilters(category=c, brand=b, price_max=p, in_stock_only=s)
    for c, b, p, s in itertools.product(
        [None, "Kitchen", "Beauty > Hair Care"], [None, "acme", "Glow"], [None, 8.0], [False, True]
    )
]


@pytest.mark.parametrize("query", ["pan", "shampoo bottle", "set knife", "steel hair hose"])
def test_filters_never_leak_and_totals_match_brute_force(
    fitted: BM25Search, catalog_rows: list[tuple], query: str
) -> None:
    qtokens = set(tokenize(query))
    for f in FILTER_GRID:
        expected = {
            r[0]
            for r in catalog_rows
            if qtokens & set(tokenize(" ".join(map(str, r[1:5])))) and _passes(r, f)
        }
        for k in (1, 2, 50):
            result = fitted.search(query, k=k, filters=f)
            assert set(ids(result)) <= expected, f
            assert result.total == len(expected), f
            assert len(result.hits) == min(k, len(expected)), f  # filtering never shrinks a page


def test_facets_count_all_filtered_matches(fitted: BM25Search) -> None:
    pans = fitted.search("pan", k=1)
    assert pans.facets == {"category": {"Kitchen": 3}, "brand": {"Acme": 1, "BakeRite": 1, "IronCo": 1}}
    shampoo = fitted.search("shampoo", k=1)
    assert shampoo.facets == {"category": {"Beauty": 4}, "brand": {"Glow": 3, "Purely": 1}}
    in_stock = fitted.search("shampoo", filters=SearchFilters(in_stock_only=True))
    assert in_stock.facets["brand"] == {"Glow": 3}


def test_brand_facet_merges_case_variants(fitted: BM25Search) -> None:
    # "Acme" and "acme" are one brand, labelled by the first spelling seen.
    result = fitted.search("knife pan steel")
    assert result.facets["brand"]["Acme"] == 3


def test_items_without_category_brand_or_price(fitted: BM25Search) -> None:
    result = fitted.search("mystery")
    assert ids(result) == ["x1"] and result.facets == {"category": {}, "brand": {}}
    assert fitted.search("mystery", filters=SearchFilters(price_min=0)).total == 0
