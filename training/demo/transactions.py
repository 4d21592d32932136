"""Payment transactions with planted fraud that only velocity and per-customer history reveal.

Three fraud patterns, each with a legitimate look-alike so no single raw column gives it away:

* card testing: a burst of many small amounts within minutes on one customer (legit shoppers
  also buy cheap coffee and digital goods, just not ten times in five minutes);
* account takeover: a never-seen device and an amount far above *that customer's* usual (the
  amount itself is ordinary for the store as a whole);
* country mismatch: the IP country differs from the card's home country and the merchant is abroad
  (legit travellers and VPN users mismatch too, at ordinary amounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.demo.vocab import CHANNELS, COUNTRIES, COUNTRY_WEIGHTS, MERCHANT_CATEGORIES, RISKY_COUNTRIES
from training.demo.world import EVENT_DAYS, WINDOW_START, format_ids, group_cumsum

FRAUD_RATE = 0.0075
SHARE_TESTING, SHARE_TAKEOVER = 0.5, 0.25  # the rest is country mismatch
CUSTOMERS_FROM_USERS = 0.7  # customer ids overlap with the events' user ids
ALL_COUNTRIES = np.array(COUNTRIES + RISKY_COUNTRIES, dtype=object)


@dataclass
class _World:
    cust_ids: np.ndarray
    home: np.ndarray  # index into ALL_COUNTRIES
    card: np.ndarray  # card issuing country: home, except for a few expats
    spend: np.ndarray  # log of usual amount
    channel_p: np.ndarray  # (n, 3)
    m_country: np.ndarray
    m_category: np.ndarray
    m_terminals: np.ndarray
    categories: np.ndarray


def _world(rng: np.random.Generator, n_customers: int, n_users: int, n_merchants: int) -> _World:
    from_users = int(n_customers * CUSTOMERS_FROM_USERS)
    users = rng.choice(n_users, size=min(from_users, n_users), replace=False) + 1
    extra = np.arange(n_users + 1, n_users + 1 + n_customers - len(users))
    cust_ids = np.array([f"u{i:06d}" for i in np.sort(np.concatenate([users, extra]))], dtype=object)
    p = np.array(COUNTRY_WEIGHTS) / sum(COUNTRY_WEIGHTS)
    home = rng.choice(len(COUNTRIES), size=n_customers, p=p)
    expat = rng.random(n_customers) < 0.03
    return _World(
        cust_ids=cust_ids,
        home=home,
        card=np.where(expat, rng.integers(0, len(COUNTRIES), n_customers), home),
        spend=rng.normal(np.log(35.0), 0.6, n_customers),
        channel_p=rng.dirichlet([3.0, 2.0, 1.5], size=n_customers),
        m_country=rng.choice(len(COUNTRIES), size=n_merchants, p=p),
        m_category=rng.integers(0, len(MERCHANT_CATEGORIES), n_merchants),
        m_terminals=rng.integers(1, 4, n_merchants),
        categories=np.array(list(MERCHANT_CATEGORIES), dtype=object),
    )


def _merchants_in(rng: np.random.Generator, w: _World, countries: np.ndarray, local: float) -> np.ndarray:
    """A merchant per row: in the given country with probability ``local``, else anywhere."""
    order = np.argsort(w.m_country, kind="stable")
    sorted_c = w.m_country[order]
    lo = np.searchsorted(sorted_c, countries, side="left")
    hi = np.searchsorted(sorted_c, countries, side="right")
    pick = order[np.minimum(lo + (rng.random(len(countries)) * (hi - lo)).astype(np.int64), len(order) - 1)]
    anywhere = rng.integers(0, len(order), len(countries))
    use_local = (rng.random(len(countries)) < local) & (hi > lo)
    return np.where(use_local, pick, anywhere)


def _legit(rng: np.random.Generator, w: _World, n: int) -> dict[str, np.ndarray]:
    activity = rng.lognormal(0.0, 0.8, len(w.cust_ids))
    cust = rng.choice(len(w.cust_ids), size=n, p=activity / activity.sum())
    t = rng.uniform(0, EVENT_DAYS * 86400.0, n)
    # Some legit customers pay twice in a row (a forgotten item), so velocity alone is not fraud.
    repeat = rng.random(n) < 0.05
    t[repeat] = np.roll(t, 1)[repeat] + rng.exponential(300.0, int(repeat.sum()))
    cust[repeat] = np.roll(cust, 1)[repeat]
    merchant = _merchants_in(rng, w, w.home[cust], local=0.85)
    cat_offset = np.array(list(MERCHANT_CATEGORIES.values()))[w.m_category[merchant]]
    amount = np.exp(w.spend[cust] + cat_offset + rng.normal(0.0, 0.5, n))
    u = rng.random(n)[:, None]
    channel = (u > np.cumsum(w.channel_p[cust], axis=1)[:, :2]).sum(axis=1)
    own_device = cust * 2 + rng.integers(0, 2, n)
    new_device = rng.random(n) < 0.03  # a new phone or browser now and then
    device = np.where(new_device, 10_000_000 + rng.integers(0, 10_000_000, n), own_device)
    travelling = rng.random(n) < 0.06
    ip = np.where(travelling, rng.integers(0, len(ALL_COUNTRIES), n), w.home[cust])
    return {
        "cust": cust,
        "t": t,
        "merchant": merchant,
        "amount": amount,
        "channel": channel,
        "device": device,
        "ip": ip,
        "fraud": np.zeros(n, dtype=np.int8),
    }


def _card_testing(rng: np.random.Generator, w: _World, n_rows: int) -> dict[str, np.ndarray]:
    chunks: list[int] = []
    while sum(chunks) < n_rows:
        chunks.append(int(rng.integers(5, 16)))
    chunks[-1] -= sum(chunks) - n_rows
    sizes = np.array([s for s in chunks if s > 0])
    b = len(sizes)
    burst = np.repeat(np.arange(b), sizes)
    victim = rng.integers(0, len(w.cust_ids), b)
    start = rng.uniform(0, EVENT_DAYS * 86400.0 - 3600, b)
    t = start[burst] + group_cumsum(rng.exponential(25.0, len(burst)), sizes)
    digital = np.flatnonzero(w.categories[w.m_category] == "digital_goods")
    pool = digital if len(digital) else np.arange(len(w.m_category))
    merchant = pool[rng.integers(0, len(pool), b)][burst]
    return {
        "cust": victim[burst],
        "t": t,
        "merchant": merchant,
        "amount": rng.uniform(0.5, 5.0, len(burst)),
        "channel": np.zeros(len(burst), dtype=np.int64),
        "device": (20_000_000 + rng.integers(0, 10_000_000, b))[burst],
        "ip": np.where(rng.random(b) < 0.5, rng.integers(0, len(ALL_COUNTRIES), b), w.home[victim])[burst],
        "fraud": np.ones(len(burst), dtype=np.int8),
    }


def _takeover(rng: np.random.Generator, w: _World, n: int) -> dict[str, np.ndarray]:
    # Victims are modest spenders: their stolen-account purchase is an ordinary amount for the
    # store, but several times what they themselves usually spend.
    modest = np.flatnonzero(w.spend < np.quantile(w.spend, 0.5))
    cust = modest[rng.integers(0, len(modest), n)]
    big = np.flatnonzero(np.isin(w.categories[w.m_category], ["electronics", "travel", "fashion"]))
    merchant = big[rng.integers(0, len(big), n)] if len(big) else rng.integers(0, len(w.m_category), n)
    return {
        "cust": cust,
        "t": rng.uniform(0, EVENT_DAYS * 86400.0, n),
        "merchant": merchant,
        "amount": np.exp(w.spend[cust] + rng.uniform(2.2, 3.0, n)),
        "channel": rng.integers(0, 2, n),
        "device": 30_000_000 + rng.integers(0, 10_000_000, n),
        "ip": np.where(rng.random(n) < 0.6, w.home[cust], rng.integers(0, len(ALL_COUNTRIES), n)),
        "fraud": np.ones(n, dtype=np.int8),
    }


def _mismatch(rng: np.random.Generator, w: _World, n: int) -> dict[str, np.ndarray]:
    cust = rng.integers(0, len(w.cust_ids), n)
    ip = len(COUNTRIES) + rng.integers(0, len(RISKY_COUNTRIES), n)
    abroad = (w.home[cust] + rng.integers(1, len(COUNTRIES), n)) % len(COUNTRIES)
    merchant = _merchants_in(rng, w, abroad, local=0.9)
    own = rng.random(n) < 0.3
    device = np.where(own, cust * 2, 40_000_000 + rng.integers(0, 10_000_000, n))
    return {
        "cust": cust,
        "t": rng.uniform(0, EVENT_DAYS * 86400.0, n),
        "merchant": merchant,
        "amount": np.exp(w.spend[cust] + rng.uniform(0.4, 1.4, n)),
        "channel": np.zeros(n, dtype=np.int64),
        "device": device,
        "ip": ip,
        "fraud": np.ones(n, dtype=np.int8),
    }


def build_transactions(
    rng: np.random.Generator, n_transactions: int, n_customers: int, n_users: int, n_merchants: int
) -> pd.DataFrame:
    """The ``transactions`` file with an ``is_fraud`` label (about 0.75% fraud)."""
    w = _world(rng, n_customers, n_users, n_merchants)
    n_fraud = max(12, int(round(n_transactions * FRAUD_RATE)))
    n_test = int(n_fraud * SHARE_TESTING)
    n_take = int(n_fraud * SHARE_TAKEOVER)
    parts = [
        _legit(rng, w, n_transactions - n_fraud),
        _card_testing(rng, w, n_test),
        _takeover(rng, w, n_take),
        _mismatch(rng, w, n_fraud - n_test - n_take),
    ]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    cols["t"] = np.floor(np.clip(cols["t"], 0, EVENT_DAYS * 86400.0 - 1))
    order = np.lexsort((np.arange(len(cols["t"])), cols["t"]))
    return _frame(rng, w, {k: v[order] for k, v in cols.items()})


def _frame(rng: np.random.Generator, w: _World, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """Ids and entity columns; card-present (pos) payments have no device or IP country."""
    cust, merchant, channel = cols["cust"], cols["merchant"], cols["channel"]
    pos = channel == 2
    terminal = np.where(pos, rng.integers(0, 3, len(cust)) % w.m_terminals[merchant] + 1, 0)
    device = np.array([f"d{d:08d}" for d in cols["device"]], dtype=object)
    device[pos] = None
    ip = ALL_COUNTRIES[cols["ip"]]
    ip[pos] = None
    merchant_ids = format_ids("m", len(w.m_country), width=5)
    return pd.DataFrame(
        {
            "transaction_id": format_ids("t", len(cust), width=8),
            "timestamp": (WINDOW_START + pd.to_timedelta(cols["t"], unit="s")).astype("datetime64[ns]"),
            "customer_id": w.cust_ids[cust],
            "amount": np.round(cols["amount"], 2),
            "is_fraud": cols["fraud"],
            "merchant_id": merchant_ids[merchant],
            "terminal_id": [f"{m}-T{k}" for m, k in zip(merchant_ids[merchant], terminal, strict=True)],
            "device_id": device,
            "channel": np.array(CHANNELS, dtype=object)[channel],
            "merchant_category": w.categories[w.m_category[merchant]],
            "country": ALL_COUNTRIES[w.home[cust]],
            "card_country": ALL_COUNTRIES[w.card[cust]],
            "ip_country": ip,
        }
    )
