"""The tiny catalog of the search tests (a module, so test files can import it by a unique name)."""

from __future__ import annotations

import pandas as pd

# item_id, title, description, category, brand, price, in_stock
ROWS = [
    (
        "p1",
        "Non-Stick Frying Pan 28cm",
        "Light pan for eggs",
        "Kitchen > Cookware > Pans",
        "Acme",
        29.99,
        True,
    ),
    ("p2", "Cast Iron Skillet Pan", "", "Kitchen > Cookware > Pans", "IronCo", 45.0, False),
    ("p3", "Stainless Steel Saucepan Set", "Three pots", "Kitchen > Cookware > Pots", "Acme", 89.0, True),
    ("p4", "Baking Pans, set of 3", "", "Kitchen > Bakeware", "BakeRite", 19.5, True),
    ("p5", "Chef Knife 8 inch", "", "Kitchen > Cutlery", "acme", 35.0, True),
    ("s1", "Shampoo for Dry Hair", "", "Beauty > Hair Care", "Glow", 7.5, True),
    ("s2", "Shampoo Bottle Travel Size", "", "Beauty > Hair Care", "Glow", 3.0, True),
    ("s3", "Anti-dandruff Shampoo Bottle", "", "Beauty > Hair Care", "Purely", 9.0, False),
    ("s4", "Conditioner", "Pairs with any shampoo", "Beauty > Hair Care", "Glow", 6.5, True),
    ("g1", "Garden Hose 50ft", "", "Garden > Watering", "HoseCo", 25.0, True),
    ("x1", "Mystery item", "", "", "", float("nan"), True),
]
COLUMNS = ["item_id", "title", "description", "category", "brand", "price", "in_stock"]


def make_catalog() -> pd.DataFrame:
    """The normalised catalog frame of ROWS (fresh copy each call)."""
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    frame["created_at"] = pd.date_range("2024-01-01", periods=len(frame), freq="D")
    return frame
