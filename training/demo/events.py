"""Shopping sessions: views -> add_to_cart -> purchase funnels with complementary add-ons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.demo.catalog import CatalogTruth
from training.demo.shoppers import PERIOD_DAYS, ItemSampler, Shoppers, leaf_popularity, session_leaves
from training.demo.world import EVENT_DAYS, WINDOW_START, Taxonomy, format_ids, group_cumsum

CART_RATE = 0.12
CART_RATE_FAV_BRAND = 0.22
CHECKOUT_RATE = 0.5  # sessions with a cart that place an order
KEEP_IN_ORDER = 0.85  # carted items that make it into the order
ADD_ON_RATE = 0.4  # purchased items whose complement is bought in the same order
# Evening-heavy hour-of-day profile and a busier weekend.
HOURS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 4, 4, 4.5, 4, 3.5, 3.5, 4, 4.5, 5.5, 6.5, 7, 6, 4, 2]
)
WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.25, 1.3])


def _session_starts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Start times in seconds from the window start: growing traffic, weekly and daily rhythm."""
    days = np.arange(EVENT_DAYS)
    weekday = (WINDOW_START.dayofweek + days) % 7
    w = (1.0 + 0.3 * days / EVENT_DAYS) * WEEKDAY[weekday]
    day = rng.choice(EVENT_DAYS, size=n, p=w / w.sum())
    hour = rng.choice(24, size=n, p=HOURS / HOURS.sum())
    return np.sort(day * 86400.0 + hour * 3600.0 + rng.uniform(0, 3600, n))


@dataclass
class _Rows:
    """Event rows under construction: session, item, type code (0 view, 1 cart, 2 purchase), seconds."""

    sess: np.ndarray
    item: np.ndarray
    etype: np.ndarray
    t: np.ndarray
    qty: np.ndarray

    @classmethod
    def of(cls, etype: int, sess: np.ndarray, item: np.ndarray, t: np.ndarray, qty: np.ndarray) -> _Rows:
        return cls(sess, item, np.full(len(sess), etype, dtype=np.int64), t, qty)

    @classmethod
    def concat(cls, parts: list[_Rows]) -> _Rows:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("sess", "item", "etype", "t", "qty"))
        )

    def take(self, order: np.ndarray) -> _Rows:
        return _Rows(self.sess[order], self.item[order], self.etype[order], self.t[order], self.qty[order])


@dataclass
class _Sessions:
    user: np.ndarray
    start: np.ndarray  # seconds from the window start, sorted
    period: np.ndarray  # week index for the item sampler
    leaf: np.ndarray  # the leaf category the shopper came for


def _sessions(rng: np.random.Generator, n: int, shoppers: Shoppers, lp: np.ndarray) -> _Sessions:
    user = rng.choice(len(shoppers.ids), size=n, p=shoppers.activity / shoppers.activity.sum())
    start = _session_starts(rng, n)
    period = (start // (86400 * PERIOD_DAYS)).astype(np.int64)
    return _Sessions(user, start, period, session_leaves(rng, shoppers, user, lp))


def _view_leaves(
    rng: np.random.Generator, s: _Sessions, v_sess: np.ndarray, shoppers: Shoppers, tax: Taxonomy
) -> np.ndarray:
    """Mostly the session's leaf, sometimes its complement, sometimes another favourite."""
    leaf = s.leaf[v_sess].copy()
    r = rng.random(len(v_sess))
    comp = tax.complements[leaf, rng.integers(0, 2, len(v_sess))]
    use_comp = (r >= 0.75) & (r < 0.85) & (comp >= 0)
    leaf[use_comp] = comp[use_comp]
    other = r >= 0.85
    leaf[other] = shoppers.fav_leaves[s.user[v_sess][other], rng.integers(0, 3, int(other.sum()))]
    return leaf


def build_events(
    rng: np.random.Generator, n_sessions: int, shoppers: Shoppers, truth: CatalogTruth, tax: Taxonomy
) -> pd.DataFrame:
    """The ``events`` file (items of discontinued products included, as a real export would)."""
    sampler = ItemSampler(truth)
    s = _sessions(rng, n_sessions, shoppers, leaf_popularity(truth, tax))
    n_views = np.minimum(rng.geometric(0.25, n_sessions), 25)
    v_sess = np.repeat(np.arange(n_sessions), n_views)
    v_user, v_period = s.user[v_sess], s.period[v_sess]
    v_item = sampler.pick(rng, shoppers, v_user, _view_leaves(rng, s, v_sess, shoppers, tax), v_period)
    v_time = s.start[v_sess] + group_cumsum(rng.exponential(40.0, len(v_sess)), n_views)

    fav_brand = (truth.brand[v_item][:, None] == shoppers.fav_brands[v_user]).any(axis=1)
    carted = rng.random(len(v_sess)) < np.where(fav_brand, CART_RATE_FAV_BRAND, CART_RATE)
    c_time = v_time + rng.exponential(20.0, len(v_sess))
    grocery = tax.leaf_dept[tax.leaf_index["Coffee"]]  # bought by the pack: larger quantities
    qty = rng.geometric(np.where(truth.dept[v_item] == grocery, 0.45, 0.75))
    bought = (
        carted & (rng.random(n_sessions) < CHECKOUT_RATE)[v_sess] & (rng.random(len(v_sess)) < KEEP_IN_ORDER)
    )
    s_end = np.maximum.reduceat(np.where(carted, c_time, v_time), np.cumsum(n_views) - n_views)
    order_time = s_end + 70.0 + rng.exponential(60.0, n_sessions)

    # Complementary add-ons: the shopper finds the matching item at checkout.
    b_idx = np.flatnonzero(bought)
    b_comp = tax.complements[truth.leaf[v_item[b_idx]], rng.integers(0, 2, len(b_idx))]
    add = (b_comp >= 0) & (rng.random(len(b_idx)) < ADD_ON_RATE)
    a_src = b_idx[add]
    a_sess = v_sess[a_src]
    a_item = sampler.pick(rng, shoppers, v_user[a_src], b_comp[add], v_period[a_src])
    a_view = s_end[a_sess] + rng.uniform(5, 50, len(a_src))
    a_qty = rng.geometric(0.75, len(a_src))
    rows = _Rows.concat(
        [
            _Rows.of(0, v_sess, v_item, v_time, np.ones(len(v_sess), dtype=np.int64)),
            _Rows.of(1, v_sess[carted], v_item[carted], c_time[carted], qty[carted]),
            _Rows.of(2, v_sess[b_idx], v_item[b_idx], order_time[v_sess[b_idx]], qty[b_idx]),
            _Rows.of(0, a_sess, a_item, a_view, np.ones(len(a_src), dtype=np.int64)),
            _Rows.of(1, a_sess, a_item, a_view + rng.uniform(5, 10, len(a_src)), a_qty),
            _Rows.of(2, a_sess, a_item, order_time[a_sess], a_qty),
        ]
    )
    return _frame(rows, s, n_sessions, shoppers, truth)


def _frame(
    rows: _Rows, s: _Sessions, n_sessions: int, shoppers: Shoppers, truth: CatalogTruth
) -> pd.DataFrame:
    """Clamp to the window, sort by time, number the orders and write the ids."""
    # Sessions starting late on the last day must not spill past the reference date.
    overflow = np.zeros(n_sessions)
    np.maximum.at(overflow, rows.sess, rows.t - (EVENT_DAYS * 86400.0 - 1))
    rows.t = np.floor(rows.t - overflow[rows.sess])
    rows = rows.take(np.lexsort((np.arange(len(rows.t)), rows.t)))
    has_order = np.zeros(n_sessions, dtype=bool)
    has_order[rows.sess[rows.etype == 2]] = True
    order_no = np.cumsum(has_order) - 1  # sessions are sorted by start, so order ids follow time
    order_ids = format_ids("o", int(has_order.sum()), width=7)
    is_buy = rows.etype == 2
    order_col = np.full(len(rows.t), None, dtype=object)
    order_col[is_buy] = order_ids[order_no[rows.sess[is_buy]]]
    return pd.DataFrame(
        {
            "user_id": shoppers.ids[s.user[rows.sess]],
            "item_id": truth.ids[rows.item],
            "event_type": np.array(["view", "add_to_cart", "purchase"], dtype=object)[rows.etype],
            "timestamp": (WINDOW_START + pd.to_timedelta(rows.t, unit="s")).astype("datetime64[ns]"),
            "session_id": format_ids("s", n_sessions, width=7)[rows.sess],
            "order_id": order_col,
            "quantity": rows.qty.astype(np.int64),
        }
    )
