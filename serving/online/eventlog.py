"""A durable ``OnlineState``: every accepted event and fraud label is in SQLite before the 2xx.

``DurableOnlineState`` writes each batch of events (one transaction) and each fraud label to a
SQLite database in WAL mode, commits, and only then applies the change to an inner
``InMemoryOnlineState`` that answers reads. At construction it trims the log and replays it into
the inner state, so a restarted server, even one killed with ``kill -9``, has everything it
acknowledged.

Durability: with ``synchronous="NORMAL"`` (the default) a commit is in the WAL file, so in the
operating system's page cache, when ``add_events`` returns: a killed process loses nothing, and
a power cut or kernel crash can lose the last commits before the next checkpoint. ``"FULL"``
fsyncs each commit (survives power loss, costs a disk flush per request).

Retention, applied at start: events received more than ``retention_s`` ago are deleted, and
each user keeps only the newest ``max_events_per_user`` events (what the in-memory state would
keep anyway); fraud labels older than ``retention_s`` are deleted. SQLite reuses the freed
pages, so the file stops growing once the live set is steady; ``VACUUM`` (or a backup with
``VACUUM INTO``) returns the space to the file system.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from serving.online.state import MAX_CATALOG_CHANGES, CatalogChange, Event, FraudFeedback, InMemoryOnlineState
from storage.sqlite import Synchronous, open_wal, transaction

logger = logging.getLogger("shelfwise.serving")

DEFAULT_RETENTION_S = 90 * 86400.0
REPLAY_CHUNK = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    ts TEXT NOT NULL,
    session_id TEXT,
    order_id TEXT,
    quantity INTEGER NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user_seq ON events (user_id, seq);
CREATE TABLE IF NOT EXISTS fraud_feedback (
    seq INTEGER PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    is_fraud INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    extra TEXT NOT NULL,
    logged_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog_changes (
    seq INTEGER PRIMARY KEY,
    change TEXT NOT NULL,
    logged_at REAL NOT NULL
);
"""


class DurableOnlineState:
    """``OnlineState`` whose writes are committed to a SQLite WAL log before they return.

    Thread-safe: one connection, used under one lock; reads go to the inner state only.

    Args:
        path: the SQLite file (created with its folder).
        inner: the in-memory state that answers reads; default ``InMemoryOnlineState()``.
        retention_s: events and labels received longer ago than this are deleted at start and
            then every ``trim_interval_s`` (by the write that finds the interval passed).
        synchronous: ``"NORMAL"`` (survives ``kill -9``) or ``"FULL"`` (also survives power loss).
        trim_interval_s: seconds between trims while running.
    """

    reads_block = False  # reads come from the replayed memory; writes commit (the events route is a def)

    def __init__(
        self,
        path: str | Path,
        *,
        inner: InMemoryOnlineState | None = None,
        retention_s: float = DEFAULT_RETENTION_S,
        synchronous: Synchronous = "NORMAL",
        trim_interval_s: float = 3600.0,
    ) -> None:
        self.path = Path(path)
        self.trim_interval_s = trim_interval_s
        self.inner = inner if inner is not None else InMemoryOnlineState()
        self.retention_s = retention_s
        self._lock = threading.Lock()
        self._conn = open_wal(self.path, synchronous)
        self._conn.executescript(_SCHEMA)
        started = time.perf_counter()
        deleted = self._trim()
        events, labels = self._replay()
        self._rows = {"events": events, "labels": labels}  # what the log holds (size metrics)
        logger.info(
            "Event log %s: replayed %d events and %d fraud labels in %.2f s (%d stale rows deleted)",
            self.path,
            events,
            labels,
            time.perf_counter() - started,
            deleted,
        )

    # ------------------------------------------------------------------ OnlineState
    def add_events(self, events: Sequence[Event]) -> None:
        """Commit the batch to the log (one transaction), then apply it in memory."""
        now = time.time()
        rows = [
            (
                e.user_id,
                e.item_id,
                e.event_type,
                e.timestamp.isoformat(),
                e.session_id,
                e.order_id,
                e.quantity,
                now,
            )
            for e in events
        ]
        with self._lock:
            with transaction(self._conn):
                self._conn.executemany(
                    "INSERT INTO events (user_id, item_id, event_type, ts, session_id, order_id, quantity,"
                    " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            # Under the lock, so memory applies batches in the order the log holds them.
            self.inner.add_events(events)
            self._rows["events"] += len(rows)
        self._trim_when_due()

    def user_history(self, user_id: str) -> tuple[list[str], list[str]]:
        """The user's purchased and recently viewed/carted item ids (from memory)."""
        return self.inner.user_history(user_id)

    def user_events(self, user_id: str) -> list[tuple[str, str]]:
        """The user's events, most recent first (from memory)."""
        return self.inner.user_events(user_id)

    def add_fraud_feedback(self, feedback: FraudFeedback) -> None:
        """Commit the label to the log, then keep it in memory."""
        row = (
            feedback.transaction_id,
            int(feedback.is_fraud),
            feedback.received_at.isoformat(),
            json.dumps(dict(feedback.extra), default=str),
            time.time(),
        )
        with self._lock:
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT INTO fraud_feedback (transaction_id, is_fraud, received_at, extra, logged_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    row,
                )
            self.inner.add_fraud_feedback(feedback)
            self._rows["labels"] += 1
        self._trim_when_due()

    def add_catalog_change(self, change: CatalogChange) -> None:
        """Commit the change to the log, then keep it in memory."""
        with self._lock:
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT INTO catalog_changes (change, logged_at) VALUES (?, ?)",
                    (json.dumps(change.to_json(), default=str), time.time()),
                )
            self.inner.add_catalog_change(change)

    def catalog_changes(self) -> list[CatalogChange]:
        """The changes kept in memory (replayed from the log at start), oldest first."""
        return self.inner.catalog_changes()

    def sizes(self) -> dict[str, int]:
        """Rows in the log and users in memory (exported as ``shelfwise_state_size``)."""
        return {
            "event_log_events": self._rows["events"],
            "event_log_labels": self._rows["labels"],
            **self.inner.sizes(),
        }

    def fraud_feedback(self) -> list[FraudFeedback]:
        """The labels kept in memory, oldest first."""
        return self.inner.fraud_feedback()

    def close(self) -> None:
        """Checkpoint and close the log (reads keep working from memory; writes then fail)."""
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ internals
    def _trim_when_due(self) -> None:
        if time.time() - self._trimmed_at >= self.trim_interval_s:
            deleted = self._trim()
            with self._lock:
                self._rows = {
                    "events": self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
                    "labels": self._conn.execute("SELECT COUNT(*) FROM fraud_feedback").fetchone()[0],
                }
            logger.info("Event log %s: trimmed %d stale rows", self.path, deleted)

    def _trim(self) -> int:
        """Delete rows older than the retention, and each user's events beyond the memory cap."""
        self._trimmed_at = time.time()
        cutoff = self._trimmed_at - self.retention_s
        cap = self.inner.max_events_per_user
        with self._lock, transaction(self._conn):
            deleted = self._conn.execute("DELETE FROM events WHERE received_at < ?", (cutoff,)).rowcount
            deleted += self._conn.execute(
                "DELETE FROM fraud_feedback WHERE logged_at < ?", (cutoff,)
            ).rowcount
            deleted += self._conn.execute(
                "DELETE FROM catalog_changes WHERE logged_at < ?", (cutoff,)
            ).rowcount
            over = self._conn.execute(
                "SELECT user_id FROM events GROUP BY user_id HAVING COUNT(*) > ?", (cap,)
            ).fetchall()
            for (user_id,) in over:
                # The newest ``cap`` rows stay: delete everything before the cap-th newest.
                deleted += self._conn.execute(
                    "DELETE FROM events WHERE user_id = ?1 AND seq < (SELECT seq FROM events"
                    " WHERE user_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                    (user_id, cap - 1),
                ).rowcount
        return deleted

    def _replay(self) -> tuple[int, int]:
        """Feed the log to the inner state in commit order; returns (events, labels) read."""
        n_events = 0
        for chunk in _chunks(
            self._conn.execute(
                "SELECT user_id, item_id, event_type, ts, session_id, order_id, quantity"
                " FROM events ORDER BY seq"
            )
        ):
            self.inner.add_events(
                [
                    Event(user, item, kind, datetime.fromisoformat(ts), session, order, quantity)
                    for user, item, kind, ts, session, order, quantity in chunk
                ]
            )
            n_events += len(chunk)
        # Only the newest labels fit in memory: read just those, oldest first.
        rows = self._conn.execute(
            "SELECT transaction_id, is_fraud, received_at, extra FROM (SELECT * FROM fraud_feedback"
            " ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (self.inner.max_feedback,),
        ).fetchall()
        for tx_id, is_fraud, received_at, extra in rows:
            self.inner.add_fraud_feedback(
                FraudFeedback(tx_id, bool(is_fraud), datetime.fromisoformat(received_at), json.loads(extra))
            )
        changes = self._conn.execute(
            "SELECT change FROM (SELECT * FROM catalog_changes ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (MAX_CATALOG_CHANGES,),
        ).fetchall()
        for (change,) in changes:
            self.inner.add_catalog_change(CatalogChange.from_json(json.loads(change)))
        return n_events, len(rows)


def _chunks(cursor: sqlite3.Cursor) -> Iterator[list[tuple]]:
    while rows := cursor.fetchmany(REPLAY_CHUNK):
        yield rows
