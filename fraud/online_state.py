"""The online state fraud scoring reads and writes: entity histories, labels and past answers.

``FraudState`` is the small interface the model talks to; ``InProcessFraudState`` keeps it in
memory and, given a directory, commits every change to a journal there (SQLite in WAL mode,
``storage.sqlite``) before the call returns, and replays it on start, so a restart, even after
``kill -9``, loses nothing (a Redis implementation for several replicas comes later). A JSON-lines
journal left by an earlier version (``fraud_state.jsonl``) is migrated once at start.

Every scored transaction is recorded once (its id makes rescoring idempotent: the stored answer
is returned and velocity counts do not move); a label only flips the ``fraud`` flag of the
transaction's history entries, and features read it only after the label delay (see
``fraud.velocity``). History older than ``retention_s`` before the newest transaction of an
entity is dropped from memory; all-time counts and sums are kept as running totals. Answers
(idempotency) expire after the same retention, and at start a mostly stale journal is rewritten
as a snapshot of the live state (in one transaction), so neither memory nor the journal grows
without bound.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from storage.sqlite import open_wal, transaction

logger = logging.getLogger(__name__)

JOURNAL = "fraud_state.db"
LEGACY_JOURNAL = "fraud_state.jsonl"  # before the SQLite journal: migrated once, then renamed
DEFAULT_RETENTION_S = 90 * 86400.0  # > the default feature horizon (label delay 7 d + 30 d)
IDLE_SWEEP = 10_000  # transactions between sweeps for idle entities (a sweep is O(entities))
# The journal is rewritten as a snapshot (at start, and by the write that crosses the line) when it
# holds this many times more entries than live transactions (expired answers, superseded labels),
# so the file stays within a constant factor of the live state.
COMPACT_FACTOR, COMPACT_MIN_LINES = 2, 10_000


@dataclass
class EntityHistory:
    """One entity value's recent transactions (parallel lists, arrival order) and running totals."""

    times: list[float] = field(default_factory=list)
    amounts: list[float] = field(default_factory=list)
    frauds: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    n_all: int = 0
    sum_all: float = 0.0
    last_time: float = float("-inf")
    partners: dict[str, set[str]] = field(default_factory=dict)


@runtime_checkable
class FraudState(Protocol):
    """What fraud scoring needs from the online state.

    ``writes_block``: the next ``record`` may wait on a disk flush or a network, so an async
    route runs scoring off the event loop (read before each score: it may change).
    """

    @property
    def writes_block(self) -> bool: ...

    def recall(self, transaction_id: str) -> dict[str, Any] | None:
        """The answer stored when ``transaction_id`` was first scored, or None."""

    def history(self, entity: str, value: str) -> EntityHistory | None:
        """The history of one entity value (read-only for callers), or None if never seen."""

    def record(
        self,
        transaction_id: str,
        time: float,
        amount: float,
        entities: Mapping[str, str | None],
        answer: Mapping[str, Any],
    ) -> None:
        """Add a scored transaction to its entities' histories and remember its answer."""

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set a recorded transaction's label; False when the transaction is unknown."""


class InProcessFraudState:
    """Thread-safe in-memory ``FraudState``, optionally journaled to ``directory``.

    Args:
        directory: where the journal (``fraud_state.db``) lives; None keeps everything in memory.
        retention_s: seconds of history kept per entity (must cover the model's feature horizon).
        fsync: fsync every commit (SQLite ``synchronous=FULL``: survives power loss, costs about a
            disk flush per request). Without it a commit survives a killed process, not a power cut.
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        retention_s: float = DEFAULT_RETENTION_S,
        fsync: bool = False,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.retention_s = retention_s
        self.fsync = fsync
        self._hist: dict[tuple[str, str], EntityHistory] = {}
        self._answers: dict[str, dict[str, Any]] = {}
        self._tx: dict[str, tuple[float, dict[str, str | None]]] = {}
        self._labels: dict[str, int] = {}
        self._arrivals: deque[tuple[float, str]] = deque()  # (time, id): answers expire oldest first
        self._newest = float("-inf")
        self._since_sweep = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._journal_rows = 0
        if self.directory is not None:
            self._db = open_wal(self.directory / JOURNAL, "FULL" if fsync else "NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS journal"
                " (seq INTEGER PRIMARY KEY, op TEXT NOT NULL, entry TEXT NOT NULL)"
            )
            entries = self._journal_rows = self._replay()
            legacy = self.directory / LEGACY_JOURNAL
            # An empty journal next to a legacy file: migrate it. A non-empty one means the
            # migration's snapshot was committed and only the rename below was cut short.
            migrating = entries == 0 and legacy.is_file()
            if migrating:
                self._read_legacy(legacy)
            if migrating or self._journal_too_long():
                self._compact()
            if legacy.is_file():
                os.replace(legacy, legacy.with_name(legacy.name + ".migrated"))
                logger.warning("Migrated the fraud state journal %s into %s", legacy, JOURNAL)

    # ------------------------------------------------------------------ reads
    def recall(self, transaction_id: str) -> dict[str, Any] | None:
        """The stored answer for ``transaction_id`` (a copy), or None."""
        with self._lock:
            answer = self._answers.get(transaction_id)
            return dict(answer) if answer is not None else None

    def history(self, entity: str, value: str) -> EntityHistory | None:
        """A consistent snapshot of an entity value's history (callers must not modify it).

        The lists are copied under the lock (a concurrent ``record`` could otherwise be seen
        half-applied); ``partners`` is shared, since set membership tests are safe meanwhile.
        """
        with self._lock:
            hist = self._hist.get((entity, value))
            if hist is None:
                return None
            return EntityHistory(
                list(hist.times),
                list(hist.amounts),
                list(hist.frauds),
                list(hist.ids),
                hist.n_all,
                hist.sum_all,
                hist.last_time,
                hist.partners,
            )

    def __len__(self) -> int:
        return len(self._answers)

    def sizes(self) -> dict[str, int]:
        """Entity histories and stored answers held (exported as ``shelfwise_state_size``)."""
        with self._lock:
            sizes = {"fraud_entities": len(self._hist), "fraud_answers": len(self._answers)}
            if self._db is not None:
                sizes["fraud_journal_rows"] = self._journal_rows
            return sizes

    # ------------------------------------------------------------------ writes
    def record(
        self,
        transaction_id: str,
        time: float,
        amount: float,
        entities: Mapping[str, str | None],
        answer: Mapping[str, Any],
    ) -> None:
        """Add a scored transaction (ignored when its id is already recorded)."""
        with self._lock:
            if transaction_id in self._answers:
                return
            # Journal first: a failed commit raises before memory changes, so nothing is
            # answered from memory that a restart would forget.
            self._write(
                {
                    "op": "tx",
                    "id": transaction_id,
                    "t": time,
                    "amount": amount,
                    "entities": dict(entities),
                    "answer": dict(answer),
                }
            )
            self._apply_tx(transaction_id, float(time), float(amount), dict(entities), dict(answer))
            if self._journal_too_long():
                self._compact()

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set the fraud flag of a recorded transaction; a later label overrides an earlier one."""
        with self._lock:
            if transaction_id not in self._tx:
                return False
            self._write({"op": "label", "id": transaction_id, "fraud": int(bool(is_fraud))})
            return self._apply_label(transaction_id, int(bool(is_fraud)))

    def close(self) -> None:
        """Close the journal (the state stays readable; later writes stay in memory only)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ------------------------------------------------------------------ internals
    def _apply_tx(
        self, tx_id: str, time: float, amount: float, entities: dict[str, str | None], answer: dict[str, Any]
    ) -> None:
        self._answers[tx_id] = answer
        self._tx[tx_id] = (time, entities)
        self._arrivals.append((time, tx_id))
        self._newest = max(self._newest, time)
        self._expire()
        fraud = self._labels.get(tx_id, 0)
        present = {e: v for e, v in entities.items() if v is not None}
        for entity, value in present.items():
            hist = self._hist.setdefault((entity, value), EntityHistory())
            hist.times.append(time)
            hist.amounts.append(amount)
            hist.frauds.append(fraud)
            hist.ids.append(tx_id)
            hist.n_all += 1
            hist.sum_all += amount
            hist.last_time = max(hist.last_time, time)
            for other, other_value in present.items():
                if other != entity:
                    hist.partners.setdefault(other, set()).add(other_value)
            self._prune(hist)

    def _expire(self) -> None:
        """Forget answers (idempotency) and labels older than the retention, and, every
        ``IDLE_SWEEP`` transactions, entities with nothing newer than the retention: memory stays
        bounded (an entity idle that long starts afresh, as a new one would)."""
        cutoff = self._newest - self.retention_s
        while self._arrivals and self._arrivals[0][0] < cutoff:
            _, old = self._arrivals.popleft()
            self._answers.pop(old, None)
            self._tx.pop(old, None)
            self._labels.pop(old, None)
        self._since_sweep += 1
        if self._since_sweep >= IDLE_SWEEP:
            self._since_sweep = 0
            idle = [key for key, hist in self._hist.items() if hist.last_time < cutoff]
            for key in idle:
                del self._hist[key]

    def _prune(self, hist: EntityHistory) -> None:
        """Drop entries older than the retention before the entity's newest transaction."""
        cutoff = hist.last_time - self.retention_s
        if not hist.times or hist.times[0] >= cutoff:
            return
        keep = [i for i, t in enumerate(hist.times) if t >= cutoff]
        for name in ("times", "amounts", "frauds", "ids"):
            values = getattr(hist, name)
            setattr(hist, name, [values[i] for i in keep])

    def _apply_label(self, tx_id: str, fraud: int) -> bool:
        known = self._tx.get(tx_id)
        if known is None:
            return False
        self._labels[tx_id] = fraud
        for entity, value in known[1].items():
            hist = self._hist.get((entity, value)) if value is not None else None
            if hist is None:
                continue
            for i, other in enumerate(hist.ids):
                if other == tx_id:
                    hist.frauds[i] = fraud
        return True

    @property
    def writes_block(self) -> bool:
        """Whether the next ``record`` may wait on the disk: every commit fsyncs (``fsync``), or
        this one will compact the journal.

        Otherwise a commit appends to the WAL in the page cache (tens of microseconds), less than
        the thread-pool hop an async route would pay to run it elsewhere, so the fraud route
        scores on the event loop. SQLite's automatic checkpoint (every ~1,000 WAL pages, about
        10,000 scores) does flush the disk inside one such commit.
        """
        return self._db is not None and (self.fsync or self._journal_rows + 1 > self._compact_line())

    def _write(self, entry: dict[str, Any]) -> None:
        """Commit one journal entry (the caller holds the lock): one INSERT, which autocommit
        makes its own transaction."""
        if self._db is None:
            return
        self._db.execute(
            "INSERT INTO journal (op, entry) VALUES (?, ?)",
            (entry["op"], json.dumps(entry, separators=(",", ":"))),
        )
        self._journal_rows += 1

    def _compact_line(self) -> int:
        return COMPACT_FACTOR * max(len(self._answers), 1) + COMPACT_MIN_LINES

    def _journal_too_long(self) -> bool:
        return self._db is not None and self._journal_rows > self._compact_line()

    def _replay(self) -> int:
        """Rebuild memory from the journal, in commit order; returns the number of entries."""
        assert self._db is not None
        entries = 0
        for (text,) in self._db.execute("SELECT entry FROM journal ORDER BY seq"):
            self._apply_entry(json.loads(text))
            entries += 1
        return entries

    def _read_legacy(self, legacy: Path) -> None:
        """Replay a JSON-lines journal of an earlier version; a torn line (crash) is skipped."""
        with open(legacy, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    logger.warning("Skipping unreadable line %d of %s", number, legacy)
                    continue
                self._apply_entry(entry)

    def _apply_entry(self, entry: dict[str, Any]) -> None:
        op = entry.get("op")
        if op == "tx" and entry["id"] not in self._answers:
            self._apply_tx(entry["id"], entry["t"], entry["amount"], entry["entities"], entry["answer"])
        elif op == "label":
            self._apply_label(entry["id"], int(entry["fraud"]))
        elif op == "entity":
            self._hist[(entry["entity"], entry["value"])] = _history_from_json(entry)
        elif op == "answer":
            self._restore_answer(entry)

    def _restore_answer(self, entry: dict[str, Any]) -> None:
        """A snapshot answer: idempotency and label lookup only (its history lines hold it already)."""
        self._answers[entry["id"]] = entry["answer"]
        self._tx[entry["id"]] = (entry["t"], entry["entities"])
        if entry.get("fraud") is not None:
            self._labels[entry["id"]] = int(entry["fraud"])
        self._arrivals.append((entry["t"], entry["id"]))
        self._newest = max(self._newest, entry["t"])

    def _compact(self) -> None:
        """Replace the journal by a snapshot of the live state, in one transaction."""
        assert self._db is not None
        snapshot = [
            {"op": "entity", "entity": entity, "value": value, **_history_to_json(hist)}
            for (entity, value), hist in self._hist.items()
        ]
        snapshot += [
            {
                "op": "answer",
                "id": tx_id,
                "t": t,
                "entities": self._tx[tx_id][1],
                "answer": self._answers[tx_id],
                "fraud": self._labels.get(tx_id),
            }
            for t, tx_id in self._arrivals
            if tx_id in self._answers
        ]
        with transaction(self._db):
            self._db.execute("DELETE FROM journal")
            self._db.executemany(
                "INSERT INTO journal (op, entry) VALUES (?, ?)",
                ((e["op"], json.dumps(e, separators=(",", ":"))) for e in snapshot),
            )
        self._journal_rows = len(snapshot)
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the deleted pages leave the WAL file
        logger.info(
            "Compacted %s to %d answers and %d entity histories",
            self.directory,
            len(self._answers),
            len(self._hist),
        )


def _history_to_json(hist: EntityHistory) -> dict[str, Any]:
    return {
        "times": hist.times,
        "amounts": hist.amounts,
        "frauds": hist.frauds,
        "ids": hist.ids,
        "n_all": hist.n_all,
        "sum_all": hist.sum_all,
        "last_time": hist.last_time,
        "partners": {k: sorted(v) for k, v in hist.partners.items()},
    }


def _history_from_json(entry: dict[str, Any]) -> EntityHistory:
    return EntityHistory(
        list(entry["times"]),
        list(entry["amounts"]),
        list(entry["frauds"]),
        list(entry["ids"]),
        int(entry["n_all"]),
        float(entry["sum_all"]),
        float(entry["last_time"]),
        {k: set(v) for k, v in entry["partners"].items()},
    )
