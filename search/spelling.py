"""Query spelling correction against the catalog's own vocabulary (rapidfuzz).

Only a query word that the catalog never uses is corrected, so brand names, model numbers and
any word a product actually contains are left alone. The replacement is the catalog word at the
smallest Levenshtein distance (at most 1 for words of up to 5 letters, 2 for longer ones), ties
going to the word more items use: a typo of a common word should become the common word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from search.text import STOPWORDS, words

MIN_LENGTH = 4  # "tv", "fry": too short to tell a typo from another word
_SPLIT = re.compile(r"([^\W_]+)")


def max_edits(word: str) -> int:
    """How many edits a correction of ``word`` may make."""
    return 1 if len(word) <= 5 else 2


class SpellCorrector:
    """Correct query words to catalog words.

    Args:
        counts: ``{word: number of items using it}`` (lowercase words).
    """

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        self._choices = [w for w in self.counts if len(w) >= MIN_LENGTH - 1 and w.isalpha()]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> SpellCorrector:
        """Count each word once per text (an item's title, brand, category ... joined)."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(set(words(text)))
        return cls(dict(counts))

    def add_texts(self, texts: Iterable[str]) -> SpellCorrector:
        """A new corrector that also knows the words of ``texts`` (live catalog updates)."""
        extra = SpellCorrector.from_texts(texts).counts
        merged = Counter(self.counts)
        merged.update(extra)
        return SpellCorrector(dict(merged))

    def correct_word(self, word: str) -> str | None:
        """The catalog word ``word`` was probably meant to be, or ``None`` to keep it."""
        low = word.lower()
        if low in self.counts or low in STOPWORDS or len(low) < MIN_LENGTH or not low.isalpha():
            return None
        limit = max_edits(low)
        found = process.extract(low, self._choices, scorer=Levenshtein.distance, score_cutoff=limit, limit=20)
        if not found:
            return None
        best = min(found, key=lambda hit: (hit[1], -self.counts[hit[0]], hit[0]))
        return best[0]

    def correct(self, query: str) -> str | None:
        """``query`` with unknown words replaced, or ``None`` when nothing was changed.

        Separators and the case of untouched words are kept, so the shopper sees their own text
        with only the misspelt words swapped (``"Cordles Drill"`` -> ``"cordless Drill"``).
        """
        parts = _SPLIT.split(query)
        changed = False
        for i in range(1, len(parts), 2):  # odd positions hold the words
            fixed = self.correct_word(parts[i])
            if fixed is not None:
                parts[i], changed = fixed, True
        return "".join(parts) if changed else None
