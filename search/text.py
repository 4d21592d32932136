"""The one tokeniser that indexing, querying and suggestions share.

Indexing and querying must tokenise identically or queries silently miss, so both go through
:func:`tokenize`. The rules are deliberately simple and frozen in this module (not taken from a
library) so that a saved index keeps matching the queries of a newer release:

1. lowercase;
2. split on anything that is not a letter or a digit (``"non-stick"`` -> ``non``, ``stick``);
3. drop English stopwords (Lucene's classic 33-word list);
4. light plural stemming, see :func:`stem`.
"""

from __future__ import annotations

import re

# Lucene's ENGLISH_STOP_WORDS_SET. Copied, not imported from bm25s, so a library upgrade cannot
# change how an already saved index is queried.
STOPWORDS: frozenset[str] = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)

_WORD = re.compile(r"[^\W_]+")  # runs of unicode letters/digits


def words(text: str) -> list[str]:
    """Lowercased letter/digit runs of ``text``, with no stopword removal or stemming."""
    return _WORD.findall(text.lower()) if text else []


def stem(word: str) -> str:
    """Strip an English plural ending so that singular and plural forms share a token.

    Rules, first match wins: words of three letters or fewer and words containing a digit are
    kept as they are (``gas``, ``2x4s``: sizes and model numbers must match exactly); ``-ies``
    -> ``-y`` (batteries -> battery); ``-sses/-shes/-ches/-xes/-zes`` lose ``es`` (glasses ->
    glass, boxes -> box); ``-ss/-us/-is`` are kept (glass, cactus); otherwise a final ``s`` is
    dropped (pans -> pan, shoes -> shoe). Errors are symmetric (query and index stem alike),
    which is what matters.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Index/query tokens of ``text``: lowercase words minus stopwords, plural-stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]
