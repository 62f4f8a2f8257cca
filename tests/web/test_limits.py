"""The rate limiter: a minute's allowance per key, sliding, counted where every process sees it."""

import sqlite3

import pytest

from web.limits import RateLimiter, SQLiteCounts


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def counts_file(tmp_path):
    return tmp_path / "locks.db"


def test_one_event_too_many_in_a_window_is_refused_and_others_keys_go_on(counts_file):
    limiter = RateLimiter("conversation", 3, SQLiteCounts(counts_file), clock=Clock())
    assert [limiter.allow("conversation") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("another conversation")


def test_the_window_slides_and_refused_events_do_not_count(counts_file):
    clock = Clock()
    limiter = RateLimiter("conversation", 2, SQLiteCounts(counts_file), clock=clock)
    assert limiter.allow("a")
    clock.now += 30
    assert limiter.allow("a") and not limiter.allow("a") and not limiter.allow("a")
    clock.now += 31  # the first has left the window, the second not
    assert limiter.allow("a") and not limiter.allow("a")


def test_processes_sharing_the_file_share_the_allowance(counts_file):
    """Two Rasa processes of `make run`: a sender gets the limit once, not once per process."""
    clock = Clock()
    first = RateLimiter("conversation", 3, SQLiteCounts(counts_file), clock=clock)
    second = RateLimiter("conversation", 3, SQLiteCounts(counts_file), clock=clock)
    assert [first.allow("a"), second.allow("a"), first.allow("a"), second.allow("a"), first.allow("a")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_no_address_or_conversation_is_stored_as_it_was_given_and_old_counts_are_forgotten(counts_file):
    clock = Clock()
    limiter = RateLimiter("address", 5, SQLiteCounts(counts_file), clock=clock)
    limiter.allow("203.0.113.7")
    clock.now += 61
    limiter.allow("198.51.100.9")
    with sqlite3.connect(counts_file) as db:
        stored = db.execute("SELECT key FROM recent_messages").fetchall()
    assert len(stored) == 1 and "198.51.100.9" not in stored[0][0]


def test_a_store_that_cannot_count_lets_the_message_through(tmp_path):
    counts = SQLiteCounts(tmp_path / "locks.db")
    counts._db.close()  # the store gone, as Redis down in a cluster
    assert RateLimiter("conversation", 1, counts).allow("a") is True
