"""Online state: what users did since the models were trained, and fraud feedback.

The interface is deliberately small (``OnlineState``): the in-process state here, the durable
event log (``serving.online.eventlog``) and the Redis state shared by replicas
(``serving.online.redis_state``) all implement it, and routes only ever talk to the Protocol.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from recsys.session import SESSION_EVENT_TYPES as SESSION_TYPES

EVENT_TYPES = ("view", "add_to_cart", "purchase")
# Views and carts describe the current intent (session signal); purchases are history to exclude.
SESSION_EVENT_TYPES = frozenset(SESSION_TYPES)


@dataclass(frozen=True, slots=True)
class Event:
    """One storefront interaction, in the ``events`` frame's shape (docs/ARCHITECTURE.md)."""

    user_id: str
    item_id: str
    event_type: str
    timestamp: datetime
    session_id: str | None = None
    order_id: str | None = None
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class FraudFeedback:
    """A label for a scored transaction, reported after the fact (chargeback, manual review)."""

    transaction_id: str
    is_fraud: bool
    received_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CatalogChange:
    """A change made through the admin API to what the served models know of the catalog.

    ``kind``: ``stock`` (``payload = {"in_stock": {item_id: bool}}``, the recommender's flags),
    ``upsert`` (``{"items": [catalog rows]}``) or ``delete`` (``{"item_ids": [...]}``, search).
    Kept by the online state so a model loaded later (hot swap, restart) gets them again.
    """

    kind: str
    payload: Mapping[str, Any]
    received_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "payload": dict(self.payload), "received_at": self.received_at.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogChange:
        return cls(str(data["kind"]), data["payload"], datetime.fromisoformat(data["received_at"]))


MAX_CATALOG_CHANGES = 100_000  # kept per state (oldest dropped): a retrained model includes them


@runtime_checkable
class OnlineState(Protocol):
    """The online state every serving replica reads and writes.

    ``reads_block``: reads may wait on a network (Redis), so async routes run them off the event
    loop; in-process reads (memory, the durable log's replayed memory) are microseconds.
    """

    reads_block: bool

    def add_events(self, events: Sequence[Event]) -> None:
        """Record storefront events (any users, any order)."""

    def user_history(self, user_id: str) -> tuple[list[str], list[str]]:
        """Return ``(purchased_item_ids, recent_viewed_or_carted_item_ids)``, most recent first, unique."""

    def user_events(self, user_id: str) -> list[tuple[str, str]]:
        """The user's events as ``(item_id, event_type)``, most recent first (one read of the log)."""

    def add_fraud_feedback(self, feedback: FraudFeedback) -> None:
        """Record a fraud label for a transaction."""

    def add_catalog_change(self, change: CatalogChange) -> None:
        """Record a stock or catalog change (before it is applied to the served model)."""

    def catalog_changes(self) -> list[CatalogChange]:
        """The recorded stock and catalog changes, oldest first."""


class InMemoryOnlineState:
    """Thread-safe, bounded, in-process ``OnlineState``.

    Memory is bounded twice: each user keeps only the last ``max_events_per_user`` events, and
    only the ``max_users`` most recently active users are kept (least recently active dropped
    first), so a crawler inventing user ids cannot grow the process without limit.

    Args:
        max_events_per_user: events kept per user.
        max_users: users kept.
        max_feedback: fraud labels kept (newest win) until a durable log takes them.
    """

    reads_block = False

    def __init__(
        self, *, max_events_per_user: int = 100, max_users: int = 100_000, max_feedback: int = 100_000
    ):
        self.max_events_per_user = max_events_per_user
        self.max_users = max_users
        self.max_feedback = max_feedback
        self._users: OrderedDict[str, deque[Event]] = OrderedDict()
        self._feedback: deque[FraudFeedback] = deque(maxlen=max_feedback)
        self._changes: deque[CatalogChange] = deque(maxlen=MAX_CATALOG_CHANGES)
        self._lock = threading.Lock()

    def add_events(self, events: Sequence[Event]) -> None:
        """Append events to their users' bounded logs."""
        with self._lock:
            for event in events:
                log = self._users.get(event.user_id)
                if log is None:
                    log = self._users[event.user_id] = deque(maxlen=self.max_events_per_user)
                else:
                    self._users.move_to_end(event.user_id)
                log.append(event)
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)

    def user_history(self, user_id: str) -> tuple[list[str], list[str]]:
        """Return the user's purchased and recently viewed/carted item ids, most recent first."""
        return split_history(self.user_events(user_id))

    def add_catalog_change(self, change: CatalogChange) -> None:
        """Keep the change (the newest ``MAX_CATALOG_CHANGES``)."""
        with self._lock:
            self._changes.append(change)

    def catalog_changes(self) -> list[CatalogChange]:
        """The kept changes, oldest first."""
        with self._lock:
            return list(self._changes)

    def sizes(self) -> dict[str, int]:
        """Users and fraud labels held in memory (exported as ``shelfwise_state_size``)."""
        with self._lock:
            return {"users_in_memory": len(self._users), "fraud_labels_in_memory": len(self._feedback)}

    def user_events(self, user_id: str) -> list[tuple[str, str]]:
        """The user's events as ``(item_id, event_type)``, most recent first."""
        with self._lock:
            log = list(self._users.get(user_id, ()))
        # Clients may post events late or in batches out of order: the event time decides recency.
        log.sort(key=lambda e: _utc(e.timestamp), reverse=True)
        return [(e.item_id, e.event_type) for e in log]

    def add_fraud_feedback(self, feedback: FraudFeedback) -> None:
        """Keep the label; the newest ``max_feedback`` labels are retained."""
        with self._lock:
            self._feedback.append(feedback)

    def fraud_feedback(self) -> list[FraudFeedback]:
        """All retained fraud labels, oldest first (for tests and a future export job)."""
        with self._lock:
            return list(self._feedback)


def _utc(ts: datetime) -> datetime:
    # Naive timestamps are UTC by the data contract; make them comparable with aware ones.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def split_history(events: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """``(purchased, recently viewed or carted)`` item ids, unique, in the order of ``events``
    (most recent first): what every backend's ``user_history`` returns."""
    events = list(events)
    purchased = _unique(item for item, kind in events if kind == "purchase")
    recent = _unique(item for item, kind in events if kind in SESSION_EVENT_TYPES)
    return purchased, recent


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))
