"""The rate limiter: a minute's allowance per key, sliding."""

from web.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_event_too_many_in_a_window_is_refused_and_others_keys_go_on():
    clock = Clock()
    limiter = RateLimiter(3, window_seconds=60, clock=clock)
    assert [limiter.allow("conversation") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("another conversation")


def test_the_window_slides():
    clock = Clock()
    limiter = RateLimiter(2, window_seconds=60, clock=clock)
    assert limiter.allow("a")
    clock.now += 30
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += 31  # the first has left the window, the second not
    assert limiter.allow("a") and not limiter.allow("a")


def test_refused_events_do_not_count_and_quiet_keys_are_forgotten():
    clock = Clock()
    limiter = RateLimiter(1, window_seconds=60, clock=clock)
    for key in range(10_001):
        limiter.allow(str(key))
    assert not limiter.allow("0")
    clock.now += 61
    limiter.allow("fresh")
    assert list(limiter.events) == ["fresh"]
