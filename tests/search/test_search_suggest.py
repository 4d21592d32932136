from __future__ import annotations

import numpy as np

from search.bm25 import BM25Search
from search.suggest import Suggester, build_vocabulary


def test_completes_shampoo(fitted: BM25Search) -> None:
    got = fitted.suggest("sha")
    assert got[0] == "shampoo"
    assert "shampoo bottle" in got  # a phrase seen in two titles
    assert all(s.startswith("sha") for s in got)
    assert fitted.suggest("SHA") == got


def test_completes_the_whole_typed_text(fitted: BM25Search) -> None:
    assert fitted.suggest("shampoo b")[0] == "shampoo bottle"
    assert fitted.suggest("dry sha")[0] == "dry shampoo"
    assert "shampoo bottle" in fitted.suggest("shampoo ")


def test_brands_and_categories_are_suggested(fitted: BM25Search) -> None:
    assert "ironco" in fitted.suggest("iron")
    assert "hair care" in fitted.suggest("hair c")


def test_k_and_blank(fitted: BM25Search) -> None:
    assert len(fitted.suggest("s", k=2)) == 2
    assert fitted.suggest("   ") == []
    assert fitted.suggest("qqq") == []


def test_weights_order_and_alphabetical_ties() -> None:
    terms, weights = build_vocabulary(
        ["red pan", "red pot", "red pan", "ruby ring"], ["", "", "", ""], ["", "", "", ""]
    )
    s = Suggester(terms, weights)
    assert s.complete("r", 10)[:2] == ["red", "red pan"]
    assert s.complete("r", 10)[2:] == ["ring", "ruby"]  # weight 1 each, alphabetical
    assert "red pot" not in terms  # phrases seen once are dropped
    # the phrase first, then the last word completed on its own behind the typed words
    assert Suggester(terms, np.asarray(weights)).complete("red p", 3) == ["red pan", "red pot"]
