"""The demo catalog and its ground truth (leaf, brand, price level, popularity, availability)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.demo.vocab import ADJECTIVES, COLORS, FEATURES
from training.demo.world import CATALOG_DAYS, EVENT_DAYS, WINDOW_START, Taxonomy, format_ids

DISCONTINUED_SHARE = 0.01  # items with events that are no longer in the catalog file
NEW_ARRIVAL_SHARE = 0.15  # items created inside the event window
TRENDING_SHARE = 0.02


@dataclass
class CatalogTruth:
    """Per-item ground truth, items sorted by leaf so a leaf is one contiguous slice.

    Times are float days relative to the start of the event window.
    """

    ids: np.ndarray
    leaf: np.ndarray
    dept: np.ndarray
    brand: np.ndarray
    color: np.ndarray  # -1: colour does not apply
    material: np.ndarray
    adjective: np.ndarray  # -1: no adjective in the title
    size: np.ndarray  # -1: no size in the title
    price: np.ndarray
    price_z: np.ndarray  # log price standardised within the leaf: the shoppers' price axis
    popularity: np.ndarray
    created_day: np.ndarray
    removed_day: np.ndarray  # inf unless discontinued
    trending: np.ndarray
    in_stock: np.ndarray
    leaf_start: np.ndarray
    leaf_end: np.ndarray

    @property
    def listed(self) -> np.ndarray:
        """Mask of items still sold (not discontinued; those are in the catalog file, out of stock)."""
        return ~np.isfinite(self.removed_day)


def _zipf(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    ranks = rng.permutation(n) + 1.0
    return ranks**-exponent


def _leaf_of_items(rng: np.random.Generator, n: int, tax: Taxonomy) -> np.ndarray:
    """Every leaf gets at least one item; the rest follow uneven leaf sizes."""
    n_leaves = tax.n_leaves
    base = np.arange(min(n, n_leaves))
    weights = rng.gamma(2.0, 1.0, size=n_leaves)
    extra = rng.choice(n_leaves, size=max(n - n_leaves, 0), p=weights / weights.sum())
    return np.sort(np.concatenate([base, extra]))


def _pick_within(
    rng: np.random.Generator, groups: list[np.ndarray], owner: np.ndarray, skew: float
) -> np.ndarray:
    """For each row pick one value from ``groups[owner]``, earlier values more often (Zipf)."""
    out = np.empty(len(owner), dtype=np.int64)
    for g, values in enumerate(groups):
        rows = np.flatnonzero(owner == g)
        w = (np.arange(len(values)) + 1.0) ** -skew
        out[rows] = values[rng.choice(len(values), size=len(rows), p=w / w.sum())]
    return out


def build_catalog(rng: np.random.Generator, n_items: int, tax: Taxonomy) -> CatalogTruth:
    """Draw ``n_items`` listed items plus about 1% discontinued ones (kept only in the events)."""
    n = n_items + max(1, int(round(n_items * DISCONTINUED_SHARE)))
    leaf = _leaf_of_items(rng, n, tax)
    dept = tax.leaf_dept[leaf]
    brand = _pick_within(rng, tax.dept_brands, dept, skew=0.8)
    material = _pick_within(rng, tax.dept_materials, dept, skew=0.3)
    color = np.where(tax.dept_colors[dept], rng.choice(len(COLORS), size=n, p=_norm(len(COLORS), 0.7)), -1)
    adjective = np.where(rng.random(n) < 0.6, rng.integers(0, len(ADJECTIVES), n), -1)
    n_sizes = np.array([len(s) for s in tax.dept_sizes])[dept]
    size = np.where(
        (rng.random(n) < 0.35) & (n_sizes > 0), rng.integers(0, 3, n) % np.maximum(n_sizes, 1), -1
    )
    # Brands sit at different price tiers, so a shopper's price level and brand taste correlate.
    brand_tier = np.exp(rng.normal(0.0, 0.3, size=len(tax.brands)))
    log_price = np.log(tax.leaf_price[leaf] * brand_tier[brand]) + rng.normal(0.0, 0.3, n)
    price = np.exp(log_price)
    price = np.where(price >= 5, np.floor(price) + 0.99, np.round(price, 2))
    leaf_start = np.searchsorted(leaf, np.arange(tax.n_leaves), side="left")
    leaf_end = np.searchsorted(leaf, np.arange(tax.n_leaves), side="right")
    popularity = _zipf(rng, n, 0.9)
    created_day, removed_day, trending = _lifecycle(rng, n_items, leaf, popularity, leaf_start)
    ids = format_ids("i", n)[rng.permutation(n)]
    return CatalogTruth(
        ids=ids,
        leaf=leaf,
        dept=dept,
        brand=brand,
        color=color,
        material=material,
        adjective=adjective,
        size=size,
        price=price,
        price_z=_price_axis(log_price, leaf, leaf_start, leaf_end),
        popularity=popularity,
        created_day=created_day,
        removed_day=removed_day,
        trending=trending,
        in_stock=rng.random(n) < 0.95,
        leaf_start=leaf_start,
        leaf_end=leaf_end,
    )


def _norm(n: int, skew: float) -> np.ndarray:
    w = (np.arange(n) + 1.0) ** -skew
    return w / w.sum()


def _price_axis(log_price: np.ndarray, leaf: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Log price standardised within each leaf: -1 is a budget pick, +1 a premium one."""
    size = np.maximum(end - start, 1)
    mean = np.bincount(leaf, weights=log_price, minlength=len(start)) / size
    var = np.bincount(leaf, weights=(log_price - mean[leaf]) ** 2, minlength=len(start)) / size
    return (log_price - mean[leaf]) / (np.sqrt(var) + 0.1)[leaf]


def _lifecycle(
    rng: np.random.Generator, n_items: int, leaf: np.ndarray, popularity: np.ndarray, leaf_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Creation day, removal day (inf: still listed) and the trending flag of every item."""
    n = len(leaf)
    # The most popular item of each leaf is an "anchor": listed for the whole window, so every leaf
    # always has something to show.
    anchor = np.zeros(n, dtype=bool)
    anchor[np.lexsort((-popularity, leaf))[leaf_start]] = True
    created_day = -rng.uniform(0, CATALOG_DAYS - EVENT_DAYS, n) - 1.0
    new = (rng.random(n) < NEW_ARRIVAL_SHARE) & ~anchor
    created_day[new] = rng.uniform(0, EVENT_DAYS - 7, int(new.sum()))
    removed_day = np.full(n, np.inf)
    gone = rng.choice(np.flatnonzero(~anchor & ~new), size=n - n_items, replace=False)
    removed_day[gone] = rng.uniform(30, EVENT_DAYS - 20, len(gone))
    trending = np.zeros(n, dtype=bool)
    listed = np.flatnonzero(np.isinf(removed_day))
    trending[rng.choice(listed, size=max(3, int(n_items * TRENDING_SHARE)), replace=False)] = True
    return created_day, removed_day, trending


def catalog_frame(truth: CatalogTruth, tax: Taxonomy, rng: np.random.Generator) -> pd.DataFrame:
    """The ``catalog`` file, sorted by item_id: every item the events name.

    Discontinued items stay listed, out of stock (as a store's export keeps a delisted product's
    row), so a generated store is clean: every event's item is in the catalog. Their texts take
    no draws from ``rng``, so the listed items' rows are the same as before they were added.
    """
    listed = np.flatnonzero(truth.listed)
    gone = np.flatnonzero(~truth.listed)
    features = rng.integers(0, len(FEATURES), len(listed))
    no_description = rng.random(len(listed)) < 0.05
    rows = np.concatenate([listed, gone])
    features = np.concatenate([features, gone % len(FEATURES)])
    no_description = np.concatenate([no_description, np.zeros(len(gone), dtype=bool)])
    titles: list[str] = []
    descriptions: list[str | None] = []
    for k, i in enumerate(rows):
        d = int(truth.dept[i])
        brand = tax.brands[truth.brand[i]]
        material = tax.materials[truth.material[i]]
        noun = tax.leaf_nouns[truth.leaf[i]]
        color = COLORS[truth.color[i]] if truth.color[i] >= 0 else ""
        adjective = ADJECTIVES[truth.adjective[i]] if truth.adjective[i] >= 0 else ""
        size = tax.dept_sizes[d][truth.size[i]] if truth.size[i] >= 0 else ""
        words = [brand, adjective, color, material, noun.title(), size]
        titles.append(" ".join(w for w in words if w))
        if no_description[k]:
            descriptions.append(None)
            continue
        colour_note = f" Colour: {color.lower()}." if color else ""
        lead = f"{adjective or 'Quality'} {material.lower()} {noun} by {brand}."
        descriptions.append(f"{lead}{colour_note} {FEATURES[features[k]]}")
    created = WINDOW_START + pd.to_timedelta(np.round(truth.created_day[rows] * 86400), unit="s")
    frame = pd.DataFrame(
        {
            "item_id": truth.ids[rows],
            "title": titles,
            "description": descriptions,
            "category": np.array(tax.leaf_paths, dtype=object)[truth.leaf[rows]],
            "brand": np.array(tax.brands, dtype=object)[truth.brand[rows]],
            "price": truth.price[rows],
            "in_stock": truth.in_stock[rows] & truth.listed[rows],
            "created_at": created.astype("datetime64[ns]"),
            "color": np.where(
                truth.color[rows] >= 0, np.array(COLORS, dtype=object)[truth.color[rows]], None
            ),
            "material": np.array(tax.materials, dtype=object)[truth.material[rows]],
        }
    )
    return frame.sort_values("item_id", kind="stable").reset_index(drop=True)
