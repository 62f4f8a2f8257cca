"""Conversation locks shared by every Rasa process (endpoints.yml names this class as `lock_store`).

Rasa gives each message of a conversation a ticket and handles them one at a time, in order
(rasa/core/lock_store.py). Its default keeps the tickets in one process's memory, so Rasa
refuses several Sanic workers with it. This store keeps them where every process sees them:

- Redis at REDIS_URL (a cluster: several machines or replicas), with Rasa's RedisLockStore;
- otherwise the SQLite file LOCK_SQLITE_FILE, which the processes of one machine share
  (`make run` on every core, no outside server).

Rasa reads, changes and writes a conversation's lock in separate steps; in SQLite each of these
read-change-write sequences runs in one exclusive transaction, so two processes never lose each
other's tickets.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from settings import settings
from web import shared_sqlite


class SQLiteLockStore(LockStore):
    """Ticket locks in an SQLite file, for the Rasa processes of one machine."""

    def __init__(self, path: Path) -> None:
        self._db = shared_sqlite.connect(
            path,
            # Three writes per message: a lock lost with the machine's power is one nobody holds
            # any more, so no write waits for the disk (0.20 against 0.01 ms a commit, measured).
            "PRAGMA synchronous=NORMAL",
            "CREATE TABLE IF NOT EXISTS locks (conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)",
        )
        super().__init__()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        row = self._db.execute("SELECT lock FROM locks WHERE conversation_id = ?", (conversation_id,)).fetchone()
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    def delete_lock(self, conversation_id: str) -> None:
        deleted = self._db.execute("DELETE FROM locks WHERE conversation_id = ?", (conversation_id,)).rowcount
        self._log_deletion(conversation_id, deleted > 0)

    def save_lock(self, lock: TicketLock) -> None:
        self._db.execute(
            "INSERT INTO locks (conversation_id, lock) VALUES (?, ?) "
            "ON CONFLICT (conversation_id) DO UPDATE SET lock = excluded.lock",
            (lock.conversation_id, lock.dumps()),
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            with self._exclusive():
                return super().issue_ticket(conversation_id, lock_lifetime)
        except sqlite3.Error as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        with self._exclusive():
            keep_waiting_tickets(self, conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._exclusive():
            super().cleanup(conversation_id, ticket_number)


class SharedLockStore(LockStore):
    """Redis when REDIS_URL is set, else the SQLite file: chosen here because endpoints.yml
    names one class for `make run` and the cluster alike."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        redis_url = settings().redis_url
        self.store = redis_lock_store(redis_url) if redis_url else SQLiteLockStore(Path(settings().lock_sqlite_file))
        super().__init__()

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return self.store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.store.save_lock(lock)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self.store.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        if isinstance(self.store, SQLiteLockStore):
            self.store.update_lock(conversation_id)
        else:
            keep_waiting_tickets(self.store, conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self.store.cleanup(conversation_id, ticket_number)


def keep_waiting_tickets(store: LockStore, conversation_id: str) -> None:
    """Rasa's update_lock (run by every turn waiting for a conversation's lock, once a second),
    except that only the ticket being served counts down its lifetime.

    In Rasa every ticket expires LOCK_LIFETIME after it was issued. When a server dies holding a
    conversation's lock, the next turn's ticket, issued a moment later, expired almost with the
    dead one, and a busy server that missed the second between the two waited for ever (a 504
    after haproxy's two minutes, `kill -9` test in tests/cluster/). Here a ticket still waiting
    is kept alive; the dead one still expires on time."""
    lock = store.get_lock(conversation_id)
    if not lock:
        return
    lock.remove_expired_tickets()
    alive_until = time.time() + LOCK_LIFETIME
    for waiting in list(lock.tickets)[1:]:
        waiting.expires = max(waiting.expires, alive_until)
    store.save_lock(lock)


def redis_lock_store(url: str) -> RedisLockStore:
    parsed = urlparse(url)
    return RedisLockStore(
        host=parsed.hostname or "localhost",
        port=parsed.port or 6379,
        db=int(parsed.path.lstrip("/") or 1),
        password=parsed.password,
    )
