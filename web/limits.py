"""Counting messages per key (a conversation, a client address) in a sliding minute.

In-process: each server process counts on its own, so with several Rasa servers behind a load
balancer a sender may send up to the limit to each.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Deque, Dict


class RateLimiter:
    """At most ``limit`` events per key in any ``window_seconds``."""

    def __init__(self, limit: int, window_seconds: float = 60, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self.events: Dict[str, Deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Counts an event for ``key``; False when it is one too many (refused events do not count)."""
        now = self.clock()
        if len(self.events) > 10_000:  # forget keys that have been quiet for a whole window
            self._forget_quiet(now)
        recent = self.events.setdefault(key, deque())
        while recent and recent[0] <= now - self.window_seconds:
            recent.popleft()
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True

    def _forget_quiet(self, now: float) -> None:
        quiet_since = now - self.window_seconds
        for key in [key for key, recent in self.events.items() if not recent or recent[-1] <= quiet_since]:
            del self.events[key]
