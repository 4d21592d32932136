"""SQLite in WAL mode: the durable logs of the online state (events, fraud state) share it.

A commit in WAL mode appends to ``<file>-wal``; with ``synchronous=NORMAL`` that append is in the
operating system's page cache when ``COMMIT`` returns, so a killed process (``kill -9``) loses
nothing it committed, while a power cut can lose the commits since the last checkpoint.
``synchronous=FULL`` fsyncs every commit as well. A crash mid-transaction leaves no trace: SQLite
ignores WAL frames after the last complete commit when it next opens the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

Synchronous = Literal["NORMAL", "FULL"]


def open_wal(path: str | Path, synchronous: Synchronous = "NORMAL") -> sqlite3.Connection:
    """Open (creating its folder) a SQLite database in WAL mode.

    The connection may be used from any thread, one at a time: callers hold their own lock.
    Transactions are explicit (see ``transaction``): the connection is in autocommit mode.

    Raises:
        ValueError: ``synchronous`` is not ``"NORMAL"`` or ``"FULL"``.
        RuntimeError: SQLite refused WAL mode (some network file systems).
    """
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"Unknown synchronous mode {synchronous!r}; expected one of ['FULL', 'NORMAL']")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.close()
        raise RuntimeError(f"SQLite refused WAL mode for {path} (got {mode!r}); use a local disk.")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` when the block (or the commit) fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
