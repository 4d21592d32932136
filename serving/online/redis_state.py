"""Online state in Redis, so several server replicas share shopper events and fraud state.

``SHELFWISE_STATE_URL=redis://host:port/db`` (``rediss://`` for TLS, ``unix://`` for a socket)
selects it; an optional ``?namespace=shop1`` query parameter separates shops (or tests) on one
Redis server (default ``default``). ``states_from_url`` builds both halves of the online state
from the URL: ``RedisOnlineState`` (events, fraud labels) and ``fraud.redis_state.RedisFraudState``
(velocity histories, idempotent answers).

Each user's events are one Redis list in arrival order, capped at ``max_events_per_user`` with
``LTRIM`` and expiring ``user_ttl_s`` after the user's last event, which replaces the in-memory
state's least-recently-active bound. A write is one ``MULTI``/``EXEC`` pipeline (one round trip)
whatever the number of users in the batch; a read is one ``LRANGE``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import redis

from fraud.redis_state import RedisFraudState
from serving.online.state import MAX_CATALOG_CHANGES, CatalogChange, Event, FraudFeedback, split_history
from storage.redis import DEFAULT_NAMESPACE, connect, key_prefix, require_decoded

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class RedisOnlineState:
    """``OnlineState`` in Redis, shared by every replica using the same namespace.

    Args:
        client: a ``redis.Redis`` created with ``decode_responses=True``.
        namespace: separates shops (or tests) on one Redis server.
        max_events_per_user: events kept per user (newest arrivals win, as in memory).
        user_ttl_s: a user's events are dropped this long after their last event.
        max_feedback: fraud labels kept (newest win).
    """

    reads_block = True  # a network round trip

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        max_events_per_user: int = 100,
        user_ttl_s: int = 30 * 86400,
        max_feedback: int = 100_000,
    ) -> None:
        require_decoded(client)
        self.client = client
        self.namespace = namespace
        self.max_events_per_user = max_events_per_user
        self.user_ttl_s = user_ttl_s
        self.max_feedback = max_feedback
        self._prefix = key_prefix(namespace)

    def add_events(self, events: Sequence[Event]) -> None:
        """Append events to their users' capped lists, in one atomic round trip."""
        by_user: dict[str, list[str]] = defaultdict(list)
        for event in events:
            # The item id goes last: it may contain the separator.
            by_user[event.user_id].append(f"{_micros(event.timestamp)}|{event.event_type}|{event.item_id}")
        if not by_user:
            return
        pipe = self.client.pipeline(transaction=True)
        for user_id, entries in by_user.items():
            key = self._user_key(user_id)
            pipe.rpush(key, *entries)
            pipe.ltrim(key, -self.max_events_per_user, -1)
            pipe.expire(key, self.user_ttl_s)
        pipe.execute()

    def user_history(self, user_id: str) -> tuple[list[str], list[str]]:
        """Return the user's purchased and recently viewed/carted item ids, most recent first."""
        return split_history(self.user_events(user_id))

    def user_events(self, user_id: str) -> list[tuple[str, str]]:
        """The user's events as ``(item_id, event_type)``, most recent first."""
        entries = cast("list[str]", self.client.lrange(self._user_key(user_id), 0, -1))
        log = [entry.split("|", 2) for entry in entries]
        # Event time decides recency; equal times keep arrival order, as InMemoryOnlineState.
        log.sort(key=lambda e: int(e[0]), reverse=True)
        return [(item, kind) for _, kind, item in log]

    def add_fraud_feedback(self, feedback: FraudFeedback) -> None:
        """Keep the label in a capped list (newest ``max_feedback`` kept)."""
        entry = {
            "transaction_id": feedback.transaction_id,
            "is_fraud": feedback.is_fraud,
            "received_at": feedback.received_at.isoformat(),
            "extra": dict(feedback.extra),
        }
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(self._prefix + "feedback", json.dumps(entry, default=str))
        pipe.ltrim(self._prefix + "feedback", -self.max_feedback, -1)
        pipe.execute()

    def fraud_feedback(self) -> list[FraudFeedback]:
        """All retained fraud labels, oldest first."""
        out = []
        for raw in cast("list[str]", self.client.lrange(self._prefix + "feedback", 0, -1)):
            entry = json.loads(raw)
            out.append(
                FraudFeedback(
                    entry["transaction_id"],
                    bool(entry["is_fraud"]),
                    datetime.fromisoformat(entry["received_at"]),
                    entry["extra"],
                )
            )
        return out

    def add_catalog_change(self, change: CatalogChange) -> None:
        """Keep the change in a capped list shared by every replica."""
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(self._prefix + "catalog_changes", json.dumps(change.to_json(), default=str))
        pipe.ltrim(self._prefix + "catalog_changes", -MAX_CATALOG_CHANGES, -1)
        pipe.execute()

    def catalog_changes(self) -> list[CatalogChange]:
        """Every replica's stock and catalog changes, oldest first."""
        raw = cast("list[str]", self.client.lrange(self._prefix + "catalog_changes", 0, -1))
        return [CatalogChange.from_json(json.loads(entry)) for entry in raw]

    def _user_key(self, user_id: str) -> str:
        return f"{self._prefix}u:{user_id}"


def states_from_url(url: str, *, retention_s: float) -> tuple[RedisOnlineState, RedisFraudState]:
    """The shared online state and fraud state for ``SHELFWISE_STATE_URL``, both keeping
    ``retention_s`` of history (``SHELFWISE_STATE_RETENTION_DAYS``)."""
    client, namespace = connect(url)
    return (
        RedisOnlineState(client, namespace=namespace, user_ttl_s=max(1, int(retention_s))),
        RedisFraudState(client, namespace=namespace, retention_s=retention_s),
    )


def _micros(ts: datetime) -> int:
    # Naive timestamps are UTC by the data contract; integers keep microsecond order exact.
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return (aware - EPOCH) // MICROSECOND
