"""A tiny shop whose right answers are known (see the comments on each block of events).

Scores (purchase 5, cart 3, view 1; everything happens on the reference day unless noted):
novel 35 > wok 20 (out of stock) > pan 17 > spatula 15 > pot 14 > rug 10 > atlas ~1.6 (old)
> ladle 1 > lamp ~0.3 (old) > candle = giftcard = 0 (no events).
"""

from __future__ import annotations

import pandas as pd
import pytest

from recsys.popularity import PopularityRecommender

DAY = pd.Timestamp("2024-03-31 12:00")

CATALOG = pd.DataFrame(
    [
        ("pan", "Frying Pan", "Kitchen > Cookware", 30.0, True),
        ("pot", "Stock Pot", "Kitchen > Cookware", 45.0, True),
        ("wok", "Wok", "Kitchen > Cookware", 50.0, False),
        ("spatula", "Spatula", "Kitchen > Utensils", 8.0, True),
        ("ladle", "Ladle", "Kitchen > Utensils", 6.0, True),
        ("novel", "Novel", "Books > Fiction", 15.0, True),
        ("atlas", "Atlas", "Books > Reference", 40.0, True),
        ("lamp", "Desk Lamp", "Home > Lighting", 25.0, True),
        ("candle", "Candle", "Home > Lighting", 12.0, True),
        ("rug", "Rug", "Home", 80.0, True),
        ("giftcard", "Gift Card", "", 20.0, True),
    ],
    columns=["item_id", "title", "category", "price", "in_stock"],
)


def _events() -> pd.DataFrame:
    rows: list[tuple] = []

    def add(user, item, kind, order=None, days_ago=0):
        rows.append((user, item, kind, DAY - pd.Timedelta(days=days_ago), order))

    for n in range(6):  # the bestseller, bought alone
        add(f"reader{n}", "novel", "purchase", f"on{n}")
    add("mixer", "novel", "purchase", "mix")  # novel + rug share one order only: below min_support
    add("mixer", "rug", "purchase", "mix")
    add("rugfan", "rug", "purchase", "r1")
    for n in range(3):  # pans and spatulas go together
        add(f"cook{n}", "pan", "purchase", f"o{n}")
        add(f"cook{n}", "spatula", "purchase", f"o{n}")
    add("cook0", "pan", "view")
    add("cook1", "pan", "view")
    for n in range(2):
        add(f"potter{n}", "pot", "purchase", f"p{n}")
    for n in range(4):
        add(f"browser{n}", "pot", "view")
    for n in range(20):  # much viewed, but out of stock
        add(f"browser{n}", "wok", "view")
    for n in range(10):  # many purchases, but ten weeks ago: decays below the rug
        add(f"old{n}", "atlas", "purchase", f"a{n}", days_ago=70)
    add("old0", "lamp", "purchase", "l0", days_ago=60)
    add("browser0", "ladle", "view")
    for n in range(5):  # not in the catalog: ignored
        add(f"ghostfan{n}", "ghost", "purchase", f"g{n}")
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp", "order_id"]).assign(
        session_id=None, quantity=1
    )


EVENTS = _events()


@pytest.fixture
def catalog() -> pd.DataFrame:
    return CATALOG.copy()


@pytest.fixture
def events() -> pd.DataFrame:
    return EVENTS.copy()


@pytest.fixture
def model(events: pd.DataFrame, catalog: pd.DataFrame) -> PopularityRecommender:
    return PopularityRecommender().fit(events, catalog)
