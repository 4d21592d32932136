"""An index of every category path prefix in the catalog, for fast category-scoped ranking.

Category paths look like ``"Kitchen > Cookware > Pans"``. Every prefix (``"Kitchen"``,
``"Kitchen > Cookware"``, the full path) is a category an item belongs to. The index gives, per
prefix, its members in global rank order (so "popular in X" is a slice, not a sort), and per
depth an integer code per item (so "is this item under X" is one vectorised comparison).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEPARATOR = " > "


def normalise_path(path: object) -> str:
    """``" kitchen>Cookware "`` -> ``"kitchen > Cookware"``: trimmed levels joined by ``" > "``."""
    if path is None or (isinstance(path, float) and np.isnan(path)):
        return ""
    return SEPARATOR.join(part.strip() for part in str(path).split(">") if part.strip())


def category_key(path: object) -> str:
    """The lookup key of a category path: normalised and case-folded."""
    return normalise_path(path).casefold()


class CategoryIndex:
    """Category prefixes of a catalog, with members kept in a given item ranking.

    Args:
        categories: normalised category path per item (``""`` for uncategorised items).
        order: item positions, best first; member lists follow this order.
    """

    def __init__(self, categories: np.ndarray, order: np.ndarray) -> None:
        parts = [path.split(SEPARATOR) if path else [] for path in categories.tolist()]
        depth = max((len(p) for p in parts), default=0)
        self.codes = np.full((depth, len(parts)), -1, dtype=np.int64)
        self.names: list[str] = []
        self.depths: list[int] = []
        self._ids: dict[str, int] = {}
        for item, levels in enumerate(parts):
            for d in range(len(levels)):
                self.codes[d, item] = self._intern(SEPARATOR.join(levels[: d + 1]), d)
        self.members = self._member_lists(order)

    def _intern(self, name: str, depth: int) -> int:
        key = name.casefold()
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.names)
            self.names.append(name)
            self.depths.append(depth)
        return found

    def _member_lists(self, order: np.ndarray) -> list[np.ndarray]:
        """Members of every category, each in ``order``: one stable sort per depth."""
        members: list[np.ndarray] = [np.zeros(0, np.int64)] * len(self.names)
        for level in self.codes:
            ranked_codes = level[order]
            by_code = np.argsort(ranked_codes, kind="stable")
            sorted_codes = ranked_codes[by_code]
            bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
            for chunk in np.split(by_code, bounds):
                code = int(ranked_codes[chunk[0]]) if len(chunk) else -1
                if code >= 0:
                    members[code] = order[chunk]
        return members

    def find(self, path: object) -> int | None:
        """The id of a category path (any prefix level, case-insensitive), or ``None``."""
        return self._ids.get(category_key(path))

    def ancestors(self, item: int) -> list[int]:
        """Category ids of an item from its leaf up to its top-level category."""
        return [int(c) for c in self.codes[::-1, item] if c >= 0]

    def contains(self, category: int, items: np.ndarray) -> np.ndarray:
        """Boolean mask: which ``items`` lie in ``category`` (at any depth below it)."""
        return self.codes[self.depths[category], items] == category


def category_codes(categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of each item's leaf category path and top-level category (-1 when none)."""
    leaf = pd.factorize(pd.Series(categories).replace("", None))[0]
    top = pd.factorize(pd.Series([c.split(" > ")[0] if c else None for c in categories]))[0]
    return leaf.astype(np.int64), top.astype(np.int64)
