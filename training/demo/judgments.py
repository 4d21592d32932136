"""Graded search judgments derived from the catalog's ground truth attributes.

Relevance: 3 = the item matches every attribute the query names (leaf noun plus any brand, colour,
material), 2 = same leaf category, 1 = same department, 0 = a judged non-match that shares a word
with the query (a hard negative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.demo.catalog import CatalogTruth
from training.demo.vocab import COLORS
from training.demo.world import Taxonomy

# Which attributes a query names besides the leaf noun.
TEMPLATES = [
    (),
    ("color",),
    ("material",),
    ("brand",),
    ("color", "material"),
    ("brand", "material"),
    ("brand", "color"),
]
TYPO_RATE = 0.15
MAX_PER_GRADE = {3: 10, 2: 8, 1: 6, 0: 4}


def _typo(rng: np.random.Generator, word: str) -> str:
    """Drop, double or swap one inner letter: "shampoo" -> "shampo"."""
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _query_text(rng: np.random.Generator, parts: list[str]) -> str:
    words = " ".join(parts).lower().split()
    long_words = [k for k, w in enumerate(words) if len(w) >= 5]
    if long_words and rng.random() < TYPO_RATE:
        k = long_words[int(rng.integers(0, len(long_words)))]
        words[k] = _typo(rng, words[k])
    return " ".join(words)


def _sample(rng: np.random.Generator, rows: np.ndarray, k: int) -> np.ndarray:
    return rows if len(rows) <= k else np.sort(rng.choice(rows, size=k, replace=False))


def _query(
    rng: np.random.Generator, truth: CatalogTruth, tax: Taxonomy, target: int, listed: np.ndarray
) -> tuple[str, list[str], np.ndarray]:
    """A query naming some of ``target``'s attributes, the attributes named, and the exact matches."""
    names = [a for a in TEMPLATES[int(rng.integers(0, len(TEMPLATES)))] if _applies(truth, a, target)]
    match = listed[truth.leaf[listed] == truth.leaf[target]]
    words = []
    for attr in names:
        values = getattr(truth, attr)
        match = match[values[match] == values[target]]
        words.append(_attr_word(tax, attr, int(values[target])))
    return _query_text(rng, words + [tax.leaf_nouns[truth.leaf[target]]]), names, match


def _grades(
    rng: np.random.Generator,
    truth: CatalogTruth,
    target: int,
    names: list[str],
    match: np.ndarray,
    listed: np.ndarray,
) -> dict[int, np.ndarray]:
    """Judged items per grade: exact matches, the rest of the leaf, the department, hard negatives."""
    leaf, dept = truth.leaf[listed], truth.dept[listed]
    same_leaf = np.setdiff1d(listed[leaf == truth.leaf[target]], match)
    same_dept = listed[(dept == truth.dept[target]) & (leaf != truth.leaf[target])]
    other = listed[dept != truth.dept[target]]
    if names and names[0] != "brand":  # a hard negative shares the named attribute elsewhere
        values = getattr(truth, names[0])
        other = other[values[other] == values[target]]
    pools = {3: match, 2: same_leaf, 1: same_dept, 0: other}
    return {grade: _sample(rng, rows, MAX_PER_GRADE[grade]) for grade, rows in pools.items()}


def build_judgments(
    rng: np.random.Generator, truth: CatalogTruth, tax: Taxonomy, n_queries: int
) -> pd.DataFrame:
    """About ``n_queries`` unique queries with 10-30 judged listed items each."""
    listed = np.flatnonzero(truth.listed)
    p = truth.popularity[listed] ** 0.5
    targets = listed[rng.choice(len(listed), size=n_queries * 2, p=p / p.sum())]
    seen: set[str] = set()
    queries, items, grades = [], [], []
    for target in targets:
        if len(seen) >= n_queries:
            break
        query, names, match = _query(rng, truth, tax, int(target), listed)
        if query in seen:
            continue
        seen.add(query)
        for grade, rows in _grades(rng, truth, int(target), names, match, listed).items():
            queries.extend([query] * len(rows))
            items.extend(truth.ids[rows])
            grades.extend([float(grade)] * len(rows))
    return pd.DataFrame({"query": queries, "item_id": items, "relevance": np.array(grades, dtype=np.float64)})


def _applies(truth: CatalogTruth, attr: str, item: int) -> bool:
    return attr != "color" or truth.color[item] >= 0


def _attr_word(tax: Taxonomy, attr: str, value: int) -> str:
    if attr == "color":
        return COLORS[value]
    if attr == "material":
        return tax.materials[value]
    return tax.brands[value]
