"""Counting messages per key (a conversation, a client address) in a sliding minute, where every
process of the assistant sees the count: the Rasa processes of `make run` share an SQLite file
(the lock store's, LOCK_SQLITE_FILE), the replicas of a cluster share Redis (REDIS_URL). Counted
in each process instead, a sender could send the limit to every process.

Keys are stored hashed, and each count is forgotten a minute after its last message: a client
address is personal data.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Callable, Protocol

import redis

from web import shared_sqlite

logger = logging.getLogger(__name__)


class Counts(Protocol):
    def add_if_below(self, key: str, limit: int, now: float, window_seconds: float) -> bool:
        """Counts an event for ``key`` at ``now`` unless ``limit`` events happened in the
        ``window_seconds`` before; True when it was counted."""


class SQLiteCounts:
    """For the processes of one machine: each check is one short exclusive transaction."""

    def __init__(self, path: Path) -> None:
        self._db = shared_sqlite.connect(
            path,
            # Every message writes here: a count lost with the machine's power costs nothing, a
            # wait for the disk on each message (0.35 against 0.08 ms for both limits, measured) would.
            "PRAGMA synchronous=NORMAL",
            "CREATE TABLE IF NOT EXISTS recent_messages (key TEXT NOT NULL, at REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS recent_messages_by_key ON recent_messages (key, at)",
        )
        self._forgotten_at = 0.0

    def add_if_below(self, key: str, limit: int, now: float, window_seconds: float) -> bool:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if now - self._forgotten_at > window_seconds:  # every key's old events, once a window
                self._db.execute("DELETE FROM recent_messages WHERE at <= ?", (now - window_seconds,))
                self._forgotten_at = now
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM recent_messages WHERE key = ? AND at > ?", (key, now - window_seconds)
            ).fetchone()
            if count < limit:
                self._db.execute("INSERT INTO recent_messages (key, at) VALUES (?, ?)", (key, now))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return bool(count < limit)


# One atomic step in Redis: drop what left the window, count, add when below the limit.
_ADD_IF_BELOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
"""


class RedisCounts:
    """For the replicas of a cluster."""

    def __init__(self, url: str) -> None:
        self._script = redis.Redis.from_url(url, socket_timeout=2).register_script(_ADD_IF_BELOW)

    def add_if_below(self, key: str, limit: int, now: float, window_seconds: float) -> bool:
        return bool(self._script(keys=[f"recent-messages:{key}"], args=[now, window_seconds, limit, uuid.uuid4().hex]))


def shared_counts(redis_url: str, sqlite_file: str) -> Counts:
    return RedisCounts(redis_url) if redis_url else SQLiteCounts(Path(sqlite_file))


class RateLimiter:
    """At most ``limit`` events per key in any ``window_seconds`` (refused events do not count)."""

    def __init__(
        self,
        name: str,
        limit: int,
        counts: Counts,
        window_seconds: float = 60,
        clock: Callable[[], float] = time.time,  # wall-clock time: processes and machines compare it
    ) -> None:
        self.name = name
        self.limit = limit
        self.counts = counts
        self.window_seconds = window_seconds
        self.clock = clock

    def allow(self, key: str) -> bool:
        """Counts an event for ``key``; False when it is one too many. True when the count cannot
        be read: with the store down (Redis, in a cluster), the assistant's own answer about
        it is clearer than a "slow down"."""
        hashed = hashlib.sha256(f"{self.name}:{key}".encode()).hexdigest()[:32]
        try:
            return self.counts.add_if_below(hashed, self.limit, self.clock(), self.window_seconds)
        except (sqlite3.Error, redis.RedisError) as error:
            logger.warning("Message limits not checked: %s", error.__class__.__name__)
            return True
