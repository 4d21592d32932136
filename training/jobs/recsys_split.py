"""The recsys job's holdout, sized to the data: a time cutoff when the tail is busy, else leave-last-out.

A fixed "last 7 days" holdout can hold one shopper (a store whose shoppers come and go over a
year); a decision made on it is noise. The design here asks for enough evaluated shoppers:

- **time**: the latest cutoff, from the newest 2 % of events back to the newest 25 %, at which at
  least ``target`` known shoppers (some history before the cutoff) bought or carted a catalog
  item after it. Their next interactions after the cutoff are what they are scored on. This is
  how a recommender is used: trained on the past, asked about the future.
- **last** (leave-last-out): when no such cutoff reaches half the target (or ``MIN_CASES``
  shoppers, where leave-last-out would evaluate more), each shopper's last
  purchase or cart (and anything they did from that moment on) is held out, the rest of
  everyone's events train the model: the protocol of sequential-recommendation benchmarks, for
  stores whose shoppers are active at different times.

``target`` is ``TARGET_USERS`` or, on a small store, every shopper leave-last-out could evaluate.
At most ``MAX_EVAL_USERS`` are scored (a sample with a fixed seed, so two training runs with
different seeds evaluate the same shoppers and can be compared pair by pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import DataValidationError
from models.evaluation import MIN_CASES
from recsys.session import sessions_of

POSITIVE_EVENTS = ("purchase", "add_to_cart")
TARGET_USERS = 3000
MAX_EVAL_USERS = 5000
HOLDOUT_SHARES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25)
SAMPLE_SEED = 0  # the evaluated sample is part of the holdout design, not of the training seed


@dataclass(frozen=True)
class EvalCase:
    """One evaluated shopper: what the model is told, and what they went on to buy or cart."""

    history: list[str]
    session: list[tuple[str, str]]  # (item, event type), newest first: ``recsys.session``
    relevant: set[str]
    since: pd.Timestamp  # the first instant held out for this shopper


@dataclass
class Split:
    """A holdout design applied to the events."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    cases: dict[str, EvalCase]
    scheme: str  # time | last
    cutoff: pd.Timestamp | None  # the first holdout instant of a time split
    n_eligible: int  # shoppers the design could have evaluated (before the sample)

    def time_share(self) -> float:
        """The holdout window's share of the whole time span (0 when it is one instant)."""
        if self.cutoff is None:
            return 0.0
        stamps = pd.concat([self.train["timestamp"], self.holdout["timestamp"]])
        start, end = stamps.min(), stamps.max()
        return float((end - self.cutoff) / (end - start)) if end > start else 0.0

    def describe(self) -> str:
        where = f"after {self.cutoff}" if self.cutoff is not None else "each shopper's last purchase or cart"
        return f"{self.scheme} split ({where}): {len(self.cases)} shoppers evaluated of {self.n_eligible}"


def design_split(events: pd.DataFrame, catalog_ids: set[str]) -> Split:
    """Choose and apply the holdout design (module docstring) to normalised events.

    Raises:
        DataValidationError: no shopper bought or carted a catalog item after some earlier event.
    """
    _check_span(events)
    positive = events["event_type"].isin(POSITIVE_EVENTS) & events["item_id"].isin(catalog_ids)
    last = _last_positive(events, positive)
    target = min(TARGET_USERS, len(last))
    best_share, best_count = None, -1
    for share in HOLDOUT_SHARES:
        count = _known_buyers_after(events, positive, _cutoff(events, share))
        if count > best_count:
            best_share, best_count = share, count
        if count >= target:
            break
    # A time split needs half the target, and enough shoppers to decide on unless leave-last-out
    # could not evaluate more.
    enough = best_count >= MIN_CASES or best_count >= len(last)
    if best_share is not None and best_count >= max(1, target) / 2 and enough:
        split = _time_split(events, positive, _cutoff(events, best_share))
        if split.cases:
            return split
    if last.empty:
        raise DataValidationError(
            "events: no shopper bought or carted a catalog item after an earlier event; the recsys job "
            "cannot be evaluated on this data",
            file="events",
            column="event_type",
        )
    return _last_split(events, last, catalog_ids)


def _check_span(events: pd.DataFrame) -> None:
    start, end = events["timestamp"].min(), events["timestamp"].max()
    if pd.isna(start) or end <= start:
        raise DataValidationError(
            f"events: all timestamps are equal ({end}); a holdout needs a history that spans some time",
            file="events",
            column="timestamp",
        )


def _cutoff(events: pd.DataFrame, share: float) -> pd.Timestamp:
    """The instant before which ``1 - share`` of the events lie (never the very first instant)."""
    ts = events["timestamp"]
    cut = ts.quantile(1 - share, interpolation="higher")
    return max(cut, ts.min() + pd.Timedelta(microseconds=1))


def _known_buyers_after(events: pd.DataFrame, positive: pd.Series, cutoff: pd.Timestamp) -> int:
    """Shoppers with an event before ``cutoff`` and a purchase or cart at or after it (a fast count)."""
    before = events["timestamp"] < cutoff
    known = pd.Index(events.loc[before, "user_id"].unique())
    buyers = pd.Index(events.loc[~before & positive, "user_id"].unique())
    return len(known.intersection(buyers))


def _last_positive(events: pd.DataFrame, positive: pd.Series) -> pd.DataFrame:
    """Per shopper, their last purchase or cart of a catalog item that has an earlier event of theirs."""
    pos = events[positive]
    if pos.empty:
        return pos
    last = pos.sort_values("timestamp", kind="stable").groupby("user_id").tail(1)
    first_seen = events.groupby("user_id")["timestamp"].min()
    return last[last["timestamp"].to_numpy() > first_seen.loc[last["user_id"]].to_numpy()]


def _sample(users: list[str]) -> list[str]:
    users = sorted(users)
    if len(users) <= MAX_EVAL_USERS:
        return users
    rng = np.random.default_rng(SAMPLE_SEED)
    return sorted(rng.choice(np.asarray(users, dtype=object), MAX_EVAL_USERS, replace=False).tolist())


def _time_split(events: pd.DataFrame, positive: pd.Series, cutoff: pd.Timestamp) -> Split:
    before = events["timestamp"] < cutoff
    train, holdout = events[before], events[~before]
    known = set(train["user_id"].unique())
    relevant = _relevant(train, holdout[positive[~before]])
    eligible = [u for u, items in relevant.items() if items and u in known]
    users = _sample(eligible)
    since = dict.fromkeys(users, cutoff)
    return Split(train, holdout, _cases(train, users, relevant, since), "time", cutoff, len(eligible))


def _last_split(events: pd.DataFrame, last: pd.DataFrame, catalog_ids: set[str]) -> Split:
    users = _sample(last["user_id"].tolist())
    start = last.set_index("user_id")["timestamp"].loc[users]
    from_then = events["timestamp"].to_numpy() >= events["user_id"].map(start).to_numpy(
        dtype="datetime64[ns]", na_value=np.datetime64("NaT")
    )
    held = events["user_id"].isin(users) & from_then
    train, holdout = events[~held], events[held]
    positive = holdout["event_type"].isin(POSITIVE_EVENTS) & holdout["item_id"].isin(catalog_ids)
    relevant = _relevant(train, holdout[positive])
    users = [u for u in users if relevant.get(u)]
    return Split(train, holdout, _cases(train, users, relevant, start.to_dict()), "last", None, len(last))


def _relevant(train: pd.DataFrame, positives: pd.DataFrame) -> dict[str, set[str]]:
    """Per shopper, the items they bought or carted in the holdout and had not bought before."""
    bought = train[train["event_type"] == "purchase"].groupby("user_id")["item_id"].agg(set)
    items = positives.groupby("user_id")["item_id"].agg(set)
    return {u: got - bought.get(u, set()) for u, got in items.items()}


def _cases(
    train: pd.DataFrame, users: list[str], relevant: dict[str, set[str]], since: dict[str, pd.Timestamp]
) -> dict[str, EvalCase]:
    mine = train[train["user_id"].isin(users)]
    history = purchases_by_user(mine)
    sessions = sessions_of(mine, users)
    return {
        u: EvalCase(list(history.get(u, [])), sessions.get(u, []), relevant[u], pd.Timestamp(since[u]))
        for u in users
    }


def purchases_by_user(events: pd.DataFrame) -> dict[str, list[str]]:
    """Per user, the distinct items they bought, in the order of their first purchase."""
    bought = events[events["event_type"] == "purchase"].sort_values("timestamp", kind="stable")
    return bought.groupby("user_id")["item_id"].agg(lambda s: list(dict.fromkeys(s))).to_dict()
