"""Business rules applied after ranking: filters, exclusions and diversity caps, never leaking.

Every list a model returns goes through ``pick``: items are taken in rank order (tier after
tier) only if they pass the filter (stock, category, price), are not excluded (explicit list,
already purchased outside consumable categories, already taken) and do not break a diversity cap.
The popularity baseline's scored lists (``recsys.ranking.RankingIndex.take``) select through it too.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from models.errors import InvalidInputError
from recsys.categories import CategoryIndex
from recsys.filters import FilterContext
from recsys.types import ItemFilter

CHUNK = 256  # first chunk of a tier that ``pick`` filters; each next one is 4x larger


def check_cap(value: object, name: str) -> int | None:
    """``None`` or an integer >= 1, else ``InvalidInputError(field=name)``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidInputError(
            f"{name} must be an integer >= 1 or null, got {value!r}", field=name, value=value
        )
    return int(value)


@dataclass(frozen=True)
class Rules:
    """What a query allows.

    Attributes:
        flt: the item filter (stock, category, price).
        excluded: catalog positions never to return.
        max_per_category: most items per leaf category (``None``: no cap).
        max_per_brand: most items per brand (``None``: no cap).
    """

    flt: ItemFilter
    excluded: set[int] = field(default_factory=set)
    max_per_category: int | None = None
    max_per_brand: int | None = None


class BatchReason(ABC):
    """A tier's reasons for all its picked items in one call, for reasons that cost more one by
    one (they read the shopper's profile rows once for all the items, not once per item)."""

    @abstractmethod
    def many(self, items: list[int], positions: list[int]) -> list[str]:
        """The reason of each item (at ``positions`` in its tier), in order."""


Reason = Callable[[int], str] | BatchReason


def consumable_mask(items: np.ndarray, categories: CategoryIndex, prefixes: Iterable[str]) -> np.ndarray:
    """Which ``items`` lie under any of the category path ``prefixes`` (may be bought again)."""
    mask = np.zeros(len(items), dtype=bool)
    for prefix in prefixes:
        found = categories.find(prefix)
        if found is not None:
            mask |= categories.contains(found, items)
    return mask


def pick(
    tiers: Iterable[tuple[np.ndarray, Reason]],
    rules: Rules,
    context: FilterContext,
    leaf: np.ndarray,
    brand: np.ndarray,
    k: int,
) -> list[tuple[int, str, int]]:
    """Top ``k`` over the tiers in order under the rules: ``(item, reason, tier index)`` triples.

    Tiers are consumed lazily, so fallbacks cost nothing when earlier tiers fill ``k``.
    """
    return [(item, reason, t) for item, reason, t, _ in pick_positions(tiers, rules, context, leaf, brand, k)]


def pick_positions(
    tiers: Iterable[tuple[np.ndarray, Reason]],
    rules: Rules,
    context: FilterContext,
    leaf: np.ndarray,
    brand: np.ndarray,
    k: int,
) -> list[tuple[int, str, int, int]]:
    """``pick``, with each item's position in its tier as a fourth element (to read its score).

    Reasons are asked for after the picking, once per tier (a ``BatchReason`` gets all of its
    tier's items in one call).
    """
    chosen: list[tuple[int, int, int]] = []  # (item, tier, position)
    reasons: list[Reason] = []
    taken = set(rules.excluded)
    per_leaf: Counter[int] = Counter()
    per_brand: Counter[int] = Counter()
    tiers = iter(tiers)
    for t in itertools.count():
        if len(chosen) >= k:  # before asking for the next tier: a lazy tier is never built
            break
        tier = next(tiers, None)
        if tier is None:
            break
        items, reason = tier
        reasons.append(reason)
        for position, item in _passing(np.asarray(items, dtype=np.int64), context, rules.flt):
            if item in taken:
                continue
            if (
                rules.max_per_category is not None
                and leaf[item] >= 0
                and per_leaf[leaf[item]] >= rules.max_per_category
            ):
                continue
            if (
                rules.max_per_brand is not None
                and brand[item] >= 0
                and per_brand[brand[item]] >= rules.max_per_brand
            ):
                continue
            chosen.append((item, t, position))
            taken.add(item)
            per_leaf[leaf[item]] += 1
            per_brand[brand[item]] += 1
            if len(chosen) >= k:
                break
    said = _explain(chosen, reasons)
    return [(item, said[n], t, position) for n, (item, t, position) in enumerate(chosen)]


def _explain(chosen: list[tuple[int, int, int]], reasons: list[Reason]) -> list[str]:
    """The reason of each ``(item, tier, position)``, asking each tier once for all its items."""
    by_tier: dict[int, list[int]] = {}  # tier -> indices into chosen
    for n, (_, t, _) in enumerate(chosen):
        by_tier.setdefault(t, []).append(n)
    said = [""] * len(chosen)
    for t, ns in by_tier.items():
        reason, items = reasons[t], [chosen[n][0] for n in ns]
        if isinstance(reason, BatchReason):
            texts = reason.many(items, [chosen[n][2] for n in ns])
        else:
            texts = [reason(item) for item in items]
        for n, text in zip(ns, texts, strict=True):
            said[n] = text
    return said


def _passing(items: np.ndarray, context: FilterContext, flt: ItemFilter) -> Iterator[tuple[int, int]]:
    """``(position, item)`` of the items of one tier that pass the filter, in order, masked in
    growing chunks.

    A long tier (trending: the whole catalog) is only filtered as far as it is read, so a
    fallback that needs a few items costs a few chunks instead of a mask over every item.
    """
    lo, size = 0, CHUNK
    while lo < len(items):
        chunk = items[lo : lo + size]
        keep = np.flatnonzero(context.mask(chunk, flt))
        yield from zip((keep + lo).tolist(), chunk[keep].tolist(), strict=True)
        lo, size = lo + size, size * 4
