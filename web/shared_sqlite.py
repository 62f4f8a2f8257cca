"""SQLite files that several of our processes open at once: the lock store's and rate limiter's
file, which every Rasa process of `make run` shares, and the conversations' database."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

# How long a process waits for another's short transaction (connect()), and at most for the
# switch to the write-ahead log (prepare(), also for the conversations' SQLAlchemy connections).
BUSY_TIMEOUT_SECONDS = 30


def connect(path: Path, *set_up: str) -> sqlite3.Connection:
    """A connection in autocommit mode (callers open their transactions explicitly), usable from
    any thread, to a file in write-ahead-log mode on which the ``set_up`` statements have run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    prepare(connection, *set_up)
    return connection


def prepare(connection: sqlite3.Connection, *set_up: str) -> None:
    """Switches the file to the write-ahead log (readers never wait for the writer) and runs the
    ``set_up`` statements.

    Processes that start together switch a new file at the same moment, and SQLite answers one of
    them "database is locked" at once, without the busy timeout, where waiting could deadlock
    (seen as a Rasa process dying at start in CI). That answer is tried again here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            for statement in set_up:
                connection.execute(statement)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
