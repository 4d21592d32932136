"""The small synthetic shop of the hybrid recommender tests (a module, so test files share it
without importing each other)."""

from __future__ import annotations

import numpy as np
import pandas as pd

END = pd.Timestamp("2024-06-30")
TOPS = ["Kitchen", "Books", "Garden"]
BRANDS = ["Acme", "Zed", "Orbit", "Nova"]
N_ITEMS = 80


def shop(seed: int = 0, n_users: int = 250) -> tuple[pd.DataFrame, pd.DataFrame]:
    """80 items (the last 8 never seen in events), shoppers who favour one top-level category and
    browse in short chains of neighbouring items; purchases come in two-item orders."""
    rng = np.random.default_rng(seed)
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i:02d}" for i in range(N_ITEMS)],
            "title": [f"{TOPS[i % 3]} thing {i}" for i in range(N_ITEMS)],
            "category": [f"{TOPS[i % 3]} > Leaf{i % 6}" for i in range(N_ITEMS)],
            "brand": [BRANDS[i % 4] for i in range(N_ITEMS)],
            "price": rng.uniform(5, 100, N_ITEMS).round(2),
            "in_stock": True,
            "created_at": END - pd.to_timedelta(rng.integers(10, 300, N_ITEMS), unit="D"),
        }
    )
    seen = N_ITEMS - 8
    weight = 1.0 / np.arange(1, seen + 1) ** 1.1
    rows = []
    for u in range(n_users):
        taste = np.where(np.arange(seen) % 3 == u % 3, 5.0, 1.0) * weight
        taste /= taste.sum()
        starts = END - pd.to_timedelta(np.sort(rng.integers(1, 60, 3))[::-1], unit="D")
        for step in range(int(rng.integers(6, 24))):
            item = int(rng.choice(seen, p=taste)) if step % 3 == 0 else (rows[-1][1] + 3) % seen
            ts = starts[step * 3 // 24] + pd.Timedelta(hours=step)
            kind = rng.choice(["view", "add_to_cart", "purchase"], p=[0.65, 0.2, 0.15])
            rows.append((f"u{u}", item, kind, ts, f"o{u}-{step // 2}" if kind == "purchase" else None))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp", "order_id"])
    events["item_id"] = events["item_id"].map(lambda i: f"i{i:02d}")
    return events, catalog


def fake_embeddings(catalog: pd.DataFrame) -> np.ndarray:
    """Unit vectors clustered by leaf category (stands in for MiniLM, which costs seconds)."""
    codes = pd.factorize(catalog["category"])[0]
    rng = np.random.default_rng(1)
    vectors = np.eye(codes.max() + 1)[codes] + 0.2 * rng.normal(size=(len(catalog), codes.max() + 1))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
