"""The demo store generator: files, determinism, speed, and the structure the models must find."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from models.errors import InvalidInputError
from training.demo import REFERENCE_DATE, SCALES, build_frames, generate_store
from training.demo.vocab import COMPLEMENTS
from training.store import FILES


def _digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_writes_every_file_and_returns_row_counts(demo_dir, demo_raw, tmp_path):
    assert sorted(p.stem for p in demo_dir.glob("*.parquet")) == sorted(FILES)
    counts = generate_store(tmp_path / "new" / "folder", seed=42)
    assert counts == {name: len(demo_raw[name]) for name in FILES}


def test_small_scale_sizes(demo_raw):
    assert 250 <= len(demo_raw["catalog"]) <= 350
    assert 10_000 <= len(demo_raw["events"]) <= 20_000
    assert 250 <= demo_raw["events"]["user_id"].nunique() <= 300  # >= 100 evaluable shoppers
    assert len(demo_raw["transactions"]) == 20_000  # enough frauds (~150) for stable holdout metrics
    assert demo_raw["sales"].groupby(["item_id", "store_id"]).ngroups == 40
    # enough judged queries that the evaluation half (>= 100) can decide a promotion
    assert 200 <= demo_raw["search_judgments"]["query"].nunique() <= 220


def test_same_seed_gives_byte_identical_files_and_other_seeds_differ(demo_dir, tmp_path):
    generate_store(tmp_path / "same", seed=42)
    generate_store(tmp_path / "other", seed=7)
    assert _digests(tmp_path / "same") == _digests(demo_dir)
    other = _digests(tmp_path / "other")
    assert all(other[name] != digest for name, digest in _digests(demo_dir).items())


def test_small_generates_fast(tmp_path):
    start = time.perf_counter()
    generate_store(tmp_path, seed=3)
    assert time.perf_counter() - start < 3.0


def test_unknown_scale_lists_allowed_values(tmp_path):
    with pytest.raises(InvalidInputError, match=r"'huge'.*\['medium', 'small'\]") as err:
        generate_store(tmp_path / "x", scale="huge")
    assert err.value.field == "scale"
    assert not (tmp_path / "x").exists()
    assert set(SCALES) == {"small", "medium"}


def test_build_frames_matches_written_files(demo_raw):
    frames = build_frames(seed=42)
    for name in FILES:
        pd.testing.assert_frame_equal(frames[name], demo_raw[name])


# ---------------------------------------------------------------- catalog and events


def test_catalog_has_hierarchy_brands_and_prices(demo_store):
    catalog = demo_store.catalog
    levels = catalog["category"].str.split(" > ")
    assert levels.map(len).eq(3).all()
    assert levels.str[0].nunique() == 8 and levels.str[-1].nunique() > 50
    assert catalog.groupby(levels.str[0])["brand"].nunique().min() >= 3
    assert 0.9 < catalog["in_stock"].mean() < 0.99
    assert (catalog["price"] > 0).all()
    # Prices depend on the leaf: a laptop costs more than a chocolate bar.
    by_leaf = catalog.groupby(levels.str[-1])["price"].median()
    assert by_leaf["Laptops"] > 20 * by_leaf["Chocolate"]
    assert catalog["created_at"].between(REFERENCE_DATE - pd.Timedelta(days=731), REFERENCE_DATE).all()
    assert all(b in t for b, t in zip(catalog["brand"], catalog["title"], strict=True))


def test_events_window_and_funnel(demo_store):
    events = demo_store.events
    assert events["timestamp"].min() >= REFERENCE_DATE - pd.Timedelta(days=180)
    assert events["timestamp"].max() < REFERENCE_DATE + pd.Timedelta(days=1)
    share = events["event_type"].value_counts(normalize=True)
    assert share["view"] > share["add_to_cart"] > share["purchase"] > 0.03
    buys = events["event_type"] == "purchase"
    assert events.loc[buys, "order_id"].notna().all() and events.loc[~buys, "order_id"].isna().all()
    assert events["session_id"].notna().all() and (events["quantity"] >= 1).all()
    # Every purchase follows an add_to_cart of the same item in the same session.
    carts = set(
        zip(
            *[events.loc[events["event_type"] == "add_to_cart", c] for c in ("session_id", "item_id")],
            strict=True,
        )
    )
    assert all(
        k in carts for k in zip(events.loc[buys, "session_id"], events.loc[buys, "item_id"], strict=True)
    )


def test_item_popularity_is_long_tailed_and_some_items_trend(demo_store):
    counts = demo_store.events["item_id"].value_counts()
    top = counts.iloc[: len(demo_store.catalog) // 10].sum() / counts.sum()
    assert top > 0.4
    events = demo_store.events
    recent = events["timestamp"] > REFERENCE_DATE - pd.Timedelta(days=20)
    now = events.loc[recent, "item_id"].value_counts(normalize=True)
    before = events.loc[~recent, "item_id"].value_counts(normalize=True).reindex(now.index).fillna(1e-4)
    assert (now / before > 5).sum() >= 3


def test_shoppers_have_concentrated_tastes(demo_store):
    leaf = demo_store.catalog.set_index("item_id")["category"]
    events = demo_store.events.assign(leaf=demo_store.events["item_id"].map(leaf))
    active = events.groupby("user_id").filter(lambda g: len(g) >= 20)
    top3 = active.groupby("user_id")["leaf"].agg(lambda s: s.value_counts().iloc[:3].sum() / len(s))
    assert top3.mean() > 0.6  # 70+ leaves: spread evenly, three would hold under 5%


def test_complementary_leaves_are_bought_together(demo_store):
    leaf = demo_store.catalog.set_index("item_id")["category"].str.split(" > ").str[-1]
    buys = demo_store.events[demo_store.events["event_type"] == "purchase"]
    orders = (
        buys.assign(leaf=buys["item_id"].map(leaf)).groupby("order_id")["leaf"].agg(lambda s: sorted(set(s)))
    )
    single = Counter(x for leaves in orders for x in leaves)
    pairs = Counter(p for leaves in orders for p in itertools.combinations(leaves, 2))
    complement = {tuple(sorted(p)) for p in COMPLEMENTS}
    lifts = [pairs[k] * len(orders) / (single[k[0]] * single[k[1]]) for k in complement if pairs[k]]
    assert len(lifts) >= 8 and np.median(lifts) > 5
    assert sum(pairs[k] for k in complement) > 0.3 * sum(pairs.values())


# ---------------------------------------------------------------- transactions


def test_customer_ids_overlap_user_ids(demo_store):
    customers = set(demo_store.transactions["customer_id"])
    shared = customers & set(demo_store.events["user_id"])
    assert len(shared) > 0.5 * len(customers)


def test_fraud_rate_and_planted_patterns(demo_store):
    tx = demo_store.transactions.sort_values(["customer_id", "timestamp"], kind="stable")
    fraud = tx["is_fraud"] == 1
    assert 0.005 <= fraud.mean() <= 0.01
    # Velocity: card-testing bursts put fraud rows minutes after the same customer's last payment.
    gap = tx.groupby("customer_id")["timestamp"].diff().dt.total_seconds()
    quick = gap < 300
    assert quick[fraud].mean() > 5 * quick[~fraud].mean()
    # History: takeovers spend several times the customer's usual amount; raw amounts overlap.
    usual = tx[~fraud].groupby("customer_id")["amount"].median()
    ratio = tx["amount"] / tx["customer_id"].map(usual)
    assert (ratio[fraud] > 6).mean() > 4 * (ratio[~fraud] > 6).mean()
    assert tx.loc[fraud, "amount"].median() < 2 * tx.loc[~fraud, "amount"].median()
    # Country mismatch is riskier but legit travellers mismatch too.
    mismatch = tx["ip_country"].notna() & (tx["ip_country"] != tx["card_country"])
    assert mismatch[fraud].mean() > 3 * mismatch[~fraud].mean() and mismatch[~fraud].mean() > 0.02
    assert set(tx["channel"]) == {"web", "app", "pos"}


# ---------------------------------------------------------------- sales and judgments


def test_sales_have_weekly_seasonality_promotions_holidays_and_stockouts(demo_store):
    sales = demo_store.sales
    days = sales["date"].drop_duplicates()
    assert len(days) == 730 and days.max() == REFERENCE_DATE
    weekday = sales.groupby(sales["date"].dt.dayofweek)["quantity"].mean()
    assert weekday[[5, 6]].mean() > 1.2 * weekday[[0, 1]].mean()
    lift = sales.groupby("promotion")["quantity"].mean()
    assert lift[1] > 1.3 * lift[0]
    assert (
        sales.loc[sales["promotion"] == 1, "price"].mean()
        < sales.loc[sales["promotion"] == 0, "price"].mean()
    )
    assert sales.loc[sales["holiday"] == 1, "date"].nunique() >= 14
    zero_run = sales["quantity"].eq(0) & sales.groupby(["item_id", "store_id"])["quantity"].shift().eq(0)
    assert zero_run.sum() > 20


def test_search_judgments_are_graded_from_attributes(demo_store):
    judged = demo_store.search_judgments.merge(demo_store.catalog, on="item_id")
    assert set(judged["relevance"]) == {0.0, 1.0, 2.0, 3.0}
    per_query = judged.groupby("query").size()
    assert per_query.between(5, 30).all() and per_query.mean() >= 10
    top = judged[judged["relevance"] == 3]
    dept = judged["category"].str.split(" > ").str[0]
    best_dept = dept[judged["relevance"] == 3].groupby(top["query"]).first()
    # Grades 1-3 share the top item's department; grade 0 never does.
    same = dept == judged["query"].map(best_dept)
    assert same[judged["relevance"] >= 1].all() and not same[judged["relevance"] == 0].any()
    assert len(top) > 0 and per_query.index.str.contains(" ").any()


def test_the_printed_examples_use_ids_that_exist_in_the_demo_store(demo_dir, demo_raw):
    from training.commands import demo_examples

    ex = demo_examples(demo_dir)
    events, catalog = demo_raw["events"], demo_raw["catalog"].set_index("item_id")
    assert (events["user_id"] == ex["user"]).sum() >= 10  # a shopper with a history to personalise
    assert catalog.at[ex["item"], "in_stock"]
    assert ex["item"] in set(events.loc[events["user_id"] == ex["user"], "item_id"])
    title = catalog.at[ex["item"], "title"].lower()
    assert all(word in title for word in ex["query"].split()) and ex["prefix"] in title
    assert ex["customer"] in set(demo_raw["transactions"]["customer_id"])
    sales = demo_raw["sales"]
    assert ((sales["item_id"] == ex["series_item"]) & (sales["store_id"] == ex["series_store"])).any()


def test_the_readme_examples_name_ids_of_the_demo_store(demo_raw):
    """The README's curl lines use demo ids; each must exist, or the example shows only fallbacks."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    users = set(re.findall(r'"user_id": "([^"]+)"', text))
    items = set(re.findall(r'"item_id": "(i\d+)"', text))
    customers = set(re.findall(r'"customer_id": "([^"]+)"', text))
    brands = set(re.findall(r'"brand": "([^"]+)"', text))
    stores = set(re.findall(r'"store_id": "([^"]+)"', text))
    assert users and items and customers and brands and stores
    assert users <= set(demo_raw["events"]["user_id"])
    assert items <= set(demo_raw["catalog"]["item_id"])
    assert customers <= set(demo_raw["transactions"]["customer_id"])
    assert brands <= set(demo_raw["catalog"]["brand"])
    assert stores <= set(demo_raw["sales"]["store_id"])


def test_the_demo_prints_a_console_link_that_carries_the_console_key(demo_dir, tmp_path):
    from rich.console import Console

    from models.settings import Settings
    from training.commands import ROLES, _print_usage, demo_examples, demo_keys

    settings = Settings(_env_file=None, home=tmp_path)  # type: ignore[call-arg]
    keys, created = demo_keys(settings)
    out = Console(record=True, width=1000)
    _print_usage(out, keys, 8000, demo_dir, settings, created=created)
    text = out.export_text()
    console_key = next(k for k, scopes in keys.items() if set(scopes) == set(ROLES["console"]))
    assert f"http://{settings.host}:8000/console#key={console_key}" in text
    assert f"/console/shopper?user={demo_examples(demo_dir)['user']}" in text
    assert "console " in text and console_key in text  # listed with the other keys
