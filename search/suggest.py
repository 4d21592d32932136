"""Query autocomplete from the catalog's own words.

The vocabulary holds title words and short title phrases (2 to :data:`MAX_NGRAM` words), brands
and category names, each weighted by the number of items it describes. Terms live in one sorted
list, so every prefix is a contiguous slice found with two ``bisect`` calls; only the slice is
ranked by weight. A suggestion never needs the BM25 index.

Live catalog updates (:meth:`Suggester.with_items`) keep a small per-term *delta* of item counts
on top of the sorted base: a new item's words are suggested on the next request and a deleted
item's words lose its weight (a term no live item uses is no longer suggested). A rebuild
(``HybridSearch.compact``/``save``) folds the delta into a fresh base.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from search.text import STOPWORDS, words

MAX_NGRAM = 3
# A phrase seen in one title is usually a product name fragment, not something people type;
# words, brands and categories are kept even when rare.
MIN_PHRASE_COUNT = 2
_END = "\U0010ffff"  # sorts after every character, closing the prefix range


def _title_terms(title: str) -> set[str]:
    """Words and phrases of one title; phrases never start or end with a stopword."""
    ws = words(title)
    terms: set[str] = set()
    for i, first in enumerate(ws):
        if first in STOPWORDS:
            continue
        for n in range(1, MAX_NGRAM + 1):
            if i + n > len(ws):
                break
            last = ws[i + n - 1]
            if last in STOPWORDS or (n == 1 and first.isdigit()):
                continue
            terms.add(" ".join(ws[i : i + n]))
    return terms


def item_terms(title: str, brand: str, category: str) -> tuple[set[str], set[str]]:
    """The terms one item contributes: (all of them, its brand and category names)."""
    named = {" ".join(words(brand))} | {" ".join(words(seg)) for seg in category.split(">")}
    named.discard("")
    return _title_terms(title) | named, named


def build_vocabulary(
    titles: Iterable[str], brands: Iterable[str], categories: Iterable[str]
) -> tuple[list[str], np.ndarray]:
    """Count, per term, the items whose title, brand or category names contain it.

    Returns:
        The terms in sorted order and their weights (item counts), aligned.
    """
    counts: Counter[str] = Counter()
    keep_rare: set[str] = set()
    for title, brand, path in zip(titles, brands, categories, strict=True):
        own, named = item_terms(title, brand, path)
        keep_rare |= named
        counts.update(own)
    terms = sorted(t for t, c in counts.items() if c >= MIN_PHRASE_COUNT or " " not in t or t in keep_rare)
    return terms, np.array([counts[t] for t in terms], dtype=np.int64)


class Suggester:
    """Prefix completion over a weighted, sorted vocabulary.

    Args:
        terms: lowercase terms in sorted order (words joined by single spaces).
        weights: one weight per term; higher is suggested first.
        delta: weight changes since the base was built (live updates, see :meth:`with_items`).
    """

    def __init__(
        self, terms: Sequence[str], weights: np.ndarray, delta: Mapping[str, int] | None = None
    ) -> None:
        self.terms = list(terms)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.delta = {t: int(w) for t, w in (delta or {}).items() if w}
        self._delta_terms = sorted(self.delta)

    def with_items(
        self,
        added: Iterable[tuple[str, str, str]] = (),
        removed: Iterable[tuple[str, str, str]] = (),
    ) -> Suggester:
        """A suggester that also counts the ``added`` items and no longer the ``removed`` ones.

        Items are ``(title, brand, category path)``. The base is shared, not copied; only the
        delta grows (by the changed items' terms). A new phrase of several words is suggested
        once two live items added since the build use it (as :data:`MIN_PHRASE_COUNT` at build).
        """
        counts: Counter[str] = Counter(self.delta)
        for title, brand, path in added:
            counts.update(item_terms(title, brand, path)[0])
        for title, brand, path in removed:
            counts.subtract(item_terms(title, brand, path)[0])
        return Suggester(self.terms, self.weights, counts)

    def _delta_slice(self, prefix: str) -> list[str]:
        lo = bisect.bisect_left(self._delta_terms, prefix)
        hi = bisect.bisect_left(self._delta_terms, prefix + _END, lo)
        return self._delta_terms[lo:hi]

    def _top(self, prefix: str, k: int) -> list[str]:
        """The ``k`` heaviest terms starting with ``prefix`` (ties: alphabetical)."""
        lo = bisect.bisect_left(self.terms, prefix)
        hi = bisect.bisect_left(self.terms, prefix + _END, lo)
        changed = self._delta_slice(prefix) if self.delta else []
        if changed:
            return self._top_with_delta(lo, hi, changed, k)
        if lo >= hi:
            return []
        w = self.weights[lo:hi]
        if hi - lo > k:
            kth = np.partition(w, len(w) - k)[len(w) - k]
            pick = np.flatnonzero(w >= kth)  # keep all ties with the k-th so ties break exactly
        else:
            pick = np.arange(hi - lo)
        # lexsort's last key is primary: weight desc, then position (= alphabetical) asc
        pick = pick[np.lexsort((pick, -w[pick]))][:k]
        return [self.terms[lo + i] for i in pick]

    def _top_with_delta(self, lo: int, hi: int, changed: list[str], k: int) -> list[str]:
        """:meth:`_top` when live updates changed terms of this prefix: base + delta, weight > 0."""
        w = self.weights[lo:hi].copy()
        extra: list[tuple[int, str]] = []
        for term in changed:
            i = bisect.bisect_left(self.terms, term, lo, hi)
            if i < hi and self.terms[i] == term:
                w[i - lo] += self.delta[term]
            elif self.delta[term] >= (MIN_PHRASE_COUNT if " " in term else 1):
                extra.append((self.delta[term], term))
        live = np.flatnonzero(w > 0)
        if len(live) > k:
            kth = np.partition(w[live], len(live) - k)[len(live) - k]
            live = live[w[live] >= kth]
        ranked = [(int(w[i]), self.terms[lo + i]) for i in live] + extra
        ranked.sort(key=lambda pair: (-pair[0], pair[1]))
        return [term for _, term in ranked[:k]]

    def complete(self, text: str, k: int) -> list[str]:
        """Complete what a shopper has typed so far.

        First the whole typed text is completed as a phrase (``"stainless st"`` ->
        ``"stainless steel"``), then its last word alone with the earlier words kept in front
        (``"red sha"`` -> ``"red shampoo"``). Each group is ordered by weight; duplicates are
        dropped. A trailing separator (``"stainless "``) asks for the next word of a phrase.
        """
        ws = words(text)
        if not ws:
            return []
        typed = " ".join(ws) + (" " if not text[-1:].isalnum() else "")
        found = dict.fromkeys(self._top(typed, k))
        if len(ws) > 1 and not typed.endswith(" "):
            head = " ".join(ws[:-1])
            found.update(dict.fromkeys(f"{head} {t}" for t in self._top(ws[-1], k)))
        return list(found)[:k]
