"""Bad inputs name their field; unfitted models and bad frames fail clearly."""

from __future__ import annotations

import pandas as pd
import pytest

from models.errors import DataValidationError, InvalidInputError, NotFittedError
from search.bm25 import BM25Search
from search.types import SearchFilters


@pytest.mark.parametrize("query", ["", "   ", None, 42])
def test_bad_query(fitted: BM25Search, query: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        fitted.search(query)  # type: ignore[arg-type]
    assert err.value.field == "query"


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"])
def test_bad_k(fitted: BM25Search, k: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        fitted.search("pan", k=k)  # type: ignore[arg-type]
    assert err.value.field == "k"
    with pytest.raises(InvalidInputError) as err:
        fitted.suggest("pa", k=k)  # type: ignore[arg-type]
    assert err.value.field == "k"


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ("category=Kitchen", "filters"),
        (SearchFilters(price_min=10, price_max=5), "price_min"),
        (SearchFilters(price_min=float("nan")), "price_min"),
        (SearchFilters(price_max="9"), "price_max"),  # type: ignore[arg-type]
    ],
)
def test_bad_filters(fitted: BM25Search, filters: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        fitted.search("pan", filters=filters)  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_prefix(fitted: BM25Search) -> None:
    with pytest.raises(InvalidInputError) as err:
        fitted.suggest(None)  # type: ignore[arg-type]
    assert err.value.field == "prefix"


def test_unfitted_model_says_what_to_do(tmp_path) -> None:
    model = BM25Search()
    for call in (
        lambda: model.search("pan"),
        lambda: model.suggest("pa"),
        lambda: model.save(tmp_path),
        lambda: model.match_ids("pan"),
    ):
        with pytest.raises(NotFittedError, match="BM25Search.*fit"):
            call()


@pytest.mark.parametrize(
    "column", ["item_id", "title", "description", "category", "brand", "price", "in_stock"]
)
def test_missing_column_is_named(catalog: pd.DataFrame, column: str) -> None:
    with pytest.raises(DataValidationError) as err:
        BM25Search().fit(catalog.drop(columns=column))
    assert err.value.column == column
    assert column in str(err.value)


def test_fields_decide_the_required_columns(catalog: pd.DataFrame) -> None:
    model = BM25Search(fields=("title",)).fit(catalog.drop(columns="description"))
    assert model.search("eggs").total == 0  # description not indexed
    with pytest.raises(DataValidationError) as err:
        BM25Search(fields=("title", "material")).fit(catalog)
    assert err.value.column == "material"


def test_duplicate_item_id(catalog: pd.DataFrame) -> None:
    catalog.loc[1, "item_id"] = "p1"
    with pytest.raises(DataValidationError, match="'p1'") as err:
        BM25Search().fit(catalog)
    assert err.value.column == "item_id"


def test_empty_or_wordless_catalog(catalog: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="empty"):
        BM25Search().fit(catalog.iloc[:0])
    blank = catalog.assign(title="--", description="", category="", brand="")
    with pytest.raises(DataValidationError, match="indexable"):
        BM25Search().fit(blank)


@pytest.mark.parametrize("boost", [0, 1.5, True])
def test_bad_title_boost(catalog: pd.DataFrame, boost: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        BM25Search(title_boost=boost).fit(catalog)  # type: ignore[arg-type]
    assert err.value.field == "title_boost"
