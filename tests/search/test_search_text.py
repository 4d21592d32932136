from __future__ import annotations

import pytest

from search.items import normalize_path
from search.text import stem, tokenize, words


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("pans", "pan"),
        ("pan", "pan"),
        ("shoes", "shoe"),
        ("batteries", "battery"),
        ("boxes", "box"),
        ("brushes", "brush"),
        ("glasses", "glass"),
        ("glass", "glass"),
        ("cactus", "cactus"),
        ("gas", "gas"),
        ("2x4s", "2x4s"),
    ],
)
def test_stem_plural_rules(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_tokenize_lowercases_splits_and_drops_stopwords() -> None:
    assert tokenize("Non-Stick PANS, for the BEST eggs!") == ["non", "stick", "pan", "best", "egg"]
    assert tokenize("") == []
    assert tokenize("the of and") == []


def test_words_keep_unicode_letters_and_digits() -> None:
    assert words("Crème brûlée_torch 2000W") == ["crème", "brûlée", "torch", "2000w"]


def test_normalize_path() -> None:
    assert normalize_path(" Kitchen >Cookware >  ") == "Kitchen > Cookware"
    assert normalize_path("") == ""
