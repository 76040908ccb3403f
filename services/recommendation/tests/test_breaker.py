"""The breaker opens after consecutive failures, fails fast, and recovers through one probe."""

from recommendation.breaker import CLOSED, HALF_OPEN, OPEN, Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_and_recovers_after_cooldown() -> None:
    clock = Clock()
    states: list[str] = []
    b = Breaker(failure_threshold=3, reset_after_s=5, clock=clock, on_state=states.append)
    for _ in range(2):
        assert b.allow()
        b.failure()
    assert b.state == CLOSED
    b.failure()
    assert b.state == OPEN and not b.allow()
    clock.now = 5.0
    assert b.allow()  # the one probe
    assert b.state == HALF_OPEN and not b.allow()
    b.success()
    assert b.state == CLOSED and b.allow()
    assert states == [OPEN, HALF_OPEN, CLOSED]


def test_failed_probe_reopens_and_success_resets_the_count() -> None:
    clock = Clock()
    b = Breaker(failure_threshold=2, reset_after_s=1, clock=clock)
    b.failure()
    b.success()
    b.failure()
    assert b.state == CLOSED  # not consecutive
    b.failure()
    clock.now = 1.0
    assert b.allow()
    b.failure()
    assert b.state == OPEN and not b.allow()
