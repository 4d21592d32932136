"""Scales, the fixed reference date and the flattened category tree the generators share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.demo.vocab import COMPLEMENTS, DEPARTMENTS

# A fixed "today" keeps the demo store byte-identical whenever it is generated.
REFERENCE_DATE = pd.Timestamp("2026-10-31")
EVENT_DAYS = 180
SALES_DAYS = 730
CATALOG_DAYS = 730
# Day 0 of the event window; the window's last day is REFERENCE_DATE itself.
WINDOW_START = REFERENCE_DATE - pd.Timedelta(days=EVENT_DAYS - 1)


@dataclass(frozen=True)
class Scale:
    """Sizes of one demo store."""

    n_items: int
    n_users: int
    n_sessions: int
    n_transactions: int
    n_customers: int
    n_merchants: int
    n_sales_items: int
    n_stores: int
    n_queries: int


SCALES: dict[str, Scale] = {
    "small": Scale(300, 300, 3_600, 20_000, 250, 40, 20, 2, 220),
    "medium": Scale(20_000, 20_000, 280_000, 200_000, 25_000, 1_500, 300, 5, 500),
}


@dataclass
class Taxonomy:
    """The category tree flattened into arrays indexed by leaf, department and brand."""

    departments: list[str]
    leaf_names: list[str]
    leaf_nouns: list[str]
    leaf_paths: list[str]
    leaf_dept: np.ndarray
    leaf_price: np.ndarray
    complements: np.ndarray  # (n_leaves, 2) leaf index of a complement, -1 when none
    brands: list[str]
    brand_dept: np.ndarray
    dept_brands: list[np.ndarray]
    materials: list[str]
    dept_materials: list[np.ndarray]
    dept_colors: np.ndarray
    dept_sizes: list[list[str]]
    leaf_index: dict[str, int] = field(default_factory=dict)

    @property
    def n_leaves(self) -> int:
        """Number of leaf categories."""
        return len(self.leaf_names)


def _complement_table(leaf_index: dict[str, int]) -> np.ndarray:
    """(n_leaves, 2) complement leaves of every leaf (both directions), -1 padded."""
    table = np.full((len(leaf_index), 2), -1, dtype=np.int64)
    for a, b in COMPLEMENTS:
        for x, y in ((a, b), (b, a)):
            row = table[leaf_index[x]]
            row[int(np.argmax(row < 0))] = leaf_index[y]
    return table


def build_taxonomy() -> Taxonomy:
    """Flatten ``vocab.DEPARTMENTS`` and ``vocab.COMPLEMENTS`` into index arrays."""
    departments = list(DEPARTMENTS)
    leaf_names, nouns, paths, leaf_dept, prices = [], [], [], [], []
    brands: list[str] = []
    brand_dept: list[int] = []
    dept_brands: list[np.ndarray] = []
    materials: list[str] = []
    dept_materials, dept_colors, dept_sizes = [], [], []
    for d, (dept, spec) in enumerate(DEPARTMENTS.items()):
        start = len(brands)
        brands.extend(spec["brands"])
        brand_dept.extend([d] * len(spec["brands"]))
        dept_brands.append(np.arange(start, len(brands)))
        for m in spec["materials"]:
            if m not in materials:
                materials.append(m)
        dept_materials.append(np.array([materials.index(m) for m in spec["materials"]]))
        dept_colors.append(spec["colors"])
        dept_sizes.append(spec["sizes"])
        for sub, leaves in spec["subs"].items():
            for leaf, noun, price in leaves:
                leaf_names.append(leaf)
                nouns.append(noun)
                paths.append(f"{dept} > {sub} > {leaf}")
                leaf_dept.append(d)
                prices.append(price)
    leaf_index = {name: i for i, name in enumerate(leaf_names)}
    return Taxonomy(
        departments=departments,
        leaf_names=leaf_names,
        leaf_nouns=nouns,
        leaf_paths=paths,
        leaf_dept=np.array(leaf_dept),
        leaf_price=np.array(prices),
        complements=_complement_table(leaf_index),
        brands=brands,
        brand_dept=np.array(brand_dept),
        dept_brands=dept_brands,
        materials=materials,
        dept_materials=dept_materials,
        dept_colors=np.array(dept_colors),
        dept_sizes=dept_sizes,
        leaf_index=leaf_index,
    )


def format_ids(prefix: str, n: int, width: int = 6) -> np.ndarray:
    """``prefix000001``-style ids as an object array (index ``i`` -> id number ``i + 1``)."""
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def group_cumsum(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group of consecutive rows (groups given by length)."""
    total = np.cumsum(values)
    first = np.cumsum(lengths) - lengths
    return total - np.repeat(total[first] - values[first], lengths)
