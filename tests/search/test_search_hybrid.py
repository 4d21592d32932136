"""The hybrid model on the tiny catalog: ranking, exact filters, facets, typos, persistence, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_support import make_catalog

from models.errors import DataValidationError, InvalidInputError, NotFittedError
from models.loader import load_model
from search.hybrid import HybridSearch
from search.text import tokenize
from search.types import SearchFilters

ROOT = Path(__file__).resolve().parents[2]
CATALOG = make_catalog().set_index("item_id")
QUERIES = ["pan", "shampoo bottle", "something to cut bread", "garden hose", "acme", "steel pots", "zzzz"]


def _passes(item: pd.Series, f: SearchFilters) -> bool:
    if f.category and not (item["category"].lower() + " >").startswith(f.category.lower().strip() + " >"):
        return False
    if f.brand and item["brand"].lower() != f.brand.lower():
        return False
    price = item["price"]
    if f.price_min is not None and not price >= f.price_min:
        return False
    if f.price_max is not None and not price <= f.price_max:
        return False
    return bool(item["in_stock"]) or not f.in_stock_only


def test_keyword_and_meaning_both_rank(hybrid: HybridSearch) -> None:
    assert hybrid.search("garden hose", k=3).hits[0].item_id == "g1"
    assert hybrid.search("blade for chopping", k=3).hits[0].item_id == "p5"  # no shared word
    assert hybrid.search("sprinkler tube", k=3).hits[0].item_id == "g1"
    assert {h.item_id for h in hybrid.search("shampoo", k=4).hits} >= {"s1", "s2", "s3"}
    scores = [h.score for h in hybrid.search("pan", k=10).hits]
    assert scores == sorted(scores, reverse=True)


def test_nonsense_finds_nothing(hybrid: HybridSearch) -> None:
    result = hybrid.search("qwxz vbnm", k=5)
    assert (result.hits, result.total) == ([], 0)


filters_strategy = st.builds(
    SearchFilters,
    category=st.sampled_from([None, "Kitchen", "kitchen > cookware", "Beauty > Hair Care", "Garden", "Nope"]),
    brand=st.sampled_from([None, "Acme", "glow", "IronCo", "none such"]),
    price_min=st.sampled_from([None, 0.0, 5.0, 20.0]),
    price_max=st.sampled_from([None, 10.0, 40.0, 100.0]),
    in_stock_only=st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=filters_strategy, query=st.sampled_from(QUERIES), k=st.integers(1, 12))
def test_filters_are_exact(hybrid: HybridSearch, filters: SearchFilters, query: str, k: int) -> None:
    if (
        filters.price_min is not None
        and filters.price_max is not None
        and filters.price_min > filters.price_max
    ):
        with pytest.raises(InvalidInputError):
            hybrid.search(query, k=k, filters=filters)
        return
    result = hybrid.search(query, k=k, filters=filters)
    assert all(_passes(CATALOG.loc[h.item_id], filters) for h in result.hits)
    assert len(result.hits) == min(k, result.total)
    words = set(tokenize(query))
    matching = [
        i
        for i, item in CATALOG.iterrows()
        if _passes(item, filters)
        and words
        & set(tokenize(" ".join(str(item[c]) for c in ("title", "description", "category", "brand"))))
    ]
    if matching:  # a filtered page is never emptied by a vector top-k
        assert result.hits


def test_facets_count_every_candidate(hybrid: HybridSearch) -> None:
    result = hybrid.search("pan", k=2)
    facets = result.facets
    assert sum(facets["category"].values()) <= result.total
    assert set(facets) >= {"category", "brand", "price", "category_level_2"}
    assert facets["category_level_2"]["Kitchen > Cookware"] >= 2
    assert sum(facets["price"].values()) == sum(
        1
        for i in CATALOG.index
        if not np.isnan(CATALOG.loc[i, "price"])
        and i in {h.item_id for h in hybrid.search("pan", k=result.total).hits}
    )


def test_typo_finds_the_clean_top_item_and_says_so(hybrid: HybridSearch) -> None:
    clean = hybrid.search("shampoo bottle", k=3)
    typo = hybrid.search("shampo botle", k=3)
    assert typo.corrected_query == "shampoo bottle"
    assert typo.hits[0].item_id == clean.hits[0].item_id
    assert clean.corrected_query is None
    assert hybrid.search("Acme 28cm pan", k=1).corrected_query is None  # known words, model numbers


def test_suggest_completes_titles_brands_and_categories(hybrid: HybridSearch) -> None:
    assert "shampoo" in hybrid.suggest("sham")
    assert "hair care" in hybrid.suggest("hair c")
    assert "acme" in hybrid.suggest("ac")


def test_hnsw_agrees_with_exact_on_a_tiny_catalog() -> None:
    approx = HybridSearch(hnsw_min_items=1).fit(make_catalog())
    exact = HybridSearch().fit(make_catalog())
    assert approx.state_.vectors.approximate and not exact.state_.vectors.approximate
    for q in QUERIES:
        assert [h.item_id for h in approx.search(q).hits] == [h.item_id for h in exact.search(q).hits]


def test_save_load_gives_identical_results(hybrid: HybridSearch, tmp_path: Path) -> None:
    hybrid.save(tmp_path)
    assert json.loads((tmp_path / "meta.json").read_text())["model_type"] == "hybrid"
    loaded = load_model(tmp_path, family="search")
    assert isinstance(loaded, HybridSearch) and loaded.get_params() == hybrid.get_params()
    for q in [*QUERIES, "shampo"]:
        for f in (None, SearchFilters(in_stock_only=True), SearchFilters(category="kitchen")):
            assert loaded.search(q, k=5, filters=f) == hybrid.search(q, k=5, filters=f)
    assert loaded.suggest("pa") == hybrid.suggest("pa")
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))


def test_serving_path_never_imports_torch(hybrid: HybridSearch, tmp_path: Path) -> None:
    hybrid.save(tmp_path)
    code = (
        "import sys; from models.loader import load_model; "
        f"m = load_model({str(tmp_path)!r}); r = m.search('pan', k=3); "
        "m.upsert_items(__import__('pandas').DataFrame([dict(item_id='n', title='Wok', category='K', "
        "brand='B', price=1.0, in_stock=True)])); "
        "assert m.search('wok').hits[0].item_id == 'n'; print(r.hits[0].item_id, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [hybrid.search("pan", k=3).hits[0].item_id, "False"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.search("   "), "query"),
        (lambda m: m.search("pan", k=0), "k"),
        (lambda m: m.search("pan", filters=SearchFilters(price_min=5, price_max=1)), "price_min"),
        (lambda m: m.suggest("pa", k=0), "k"),
        (lambda m: m.ranked_ids(m.candidates("pan"), method="magic"), "method"),
    ],
)
def test_bad_input_names_the_field(hybrid: HybridSearch, call, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        call(hybrid)
    assert info.value.field == field


def test_fit_checks_its_inputs() -> None:
    with pytest.raises(NotFittedError):
        HybridSearch().search("pan")
    with pytest.raises(DataValidationError, match="brand"):
        HybridSearch().fit(make_catalog().drop(columns="brand"))
    with pytest.raises(DataValidationError, match="unique"):
        HybridSearch().fit(pd.concat([make_catalog(), make_catalog()]))
    with pytest.raises(InvalidInputError, match="fusion"):
        HybridSearch(fusion="max").fit(make_catalog())


def test_personalization_is_a_mild_tie_breaker(hybrid: HybridSearch) -> None:
    beauty_fan = ["s1", "s4", "unknown-id"]
    assert hybrid.search("garden hose", k=1, history=beauty_fan).hits[0].item_id == "g1"
    plain = hybrid.search("set", k=20)
    personal = hybrid.search("set", k=20, history=beauty_fan)
    assert {h.item_id for h in personal.hits} == {h.item_id for h in plain.hits}
    strong = HybridSearch(personalization_weight=1.0).fit(make_catalog())
    glow = [h.item_id for h in strong.search("shampoo", k=3, history=["s4"]).hits]
    purely = [h.item_id for h in strong.search("shampoo", k=3, history=["s3"]).hits]
    assert CATALOG.loc[glow[0], "brand"] == "Glow" and purely[0] == "s3"
