"""Every transition of the breaker (pure logic, a fake clock), then the catalog client driving it
against a real catalog server: what counts as a failure is mesh/src/breaker.ts's rule."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from conftest import CatalogServer, channel_creds
from recommendation.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from recommendation.catalog import CatalogClient, CatalogError, make_channel
from recommendation.errors import DeadlineError, UnavailableError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def opened(clock: Clock, **kw: float) -> Breaker:
    b = Breaker(failure_threshold=1, reset_after_s=5, clock=clock, **kw)  # type: ignore[arg-type]
    assert b.allow()
    b.failure()
    assert b.state == OPEN
    return b


def test_closed_to_open_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    states: list[str] = []
    b = Breaker(failure_threshold=3, reset_after_s=5, clock=clock, on_state=states.append)
    for _ in range(2):
        assert b.allow()
        b.failure()
    assert b.state == CLOSED
    b.success()  # a success breaks the run
    for _ in range(2):
        b.failure()
    assert b.state == CLOSED
    b.failure()
    assert b.state == OPEN and not b.allow()
    assert states == [OPEN]


def test_open_to_half_open_only_after_the_reset_time() -> None:
    clock = Clock()
    b = opened(clock)
    clock.now = 4.99
    assert not b.allow() and b.state == OPEN
    clock.now = 5.0
    assert b.allow()  # the one probe
    assert b.state == HALF_OPEN
    assert not b.allow()  # nobody else while it is out


def test_half_open_to_closed_on_success() -> None:
    clock = Clock()
    states: list[str] = []
    b = opened(clock, on_state=states.append)  # type: ignore[arg-type]
    clock.now = 5.0
    assert b.allow()
    b.success()
    assert b.state == CLOSED and b.allow() and b.allow()
    assert states == [OPEN, HALF_OPEN, CLOSED]


def test_half_open_to_open_on_failure_restarts_the_reset_timer() -> None:
    clock = Clock()
    b = opened(clock)
    clock.now = 5.0
    assert b.allow()
    clock.now = 6.0
    b.failure()
    assert b.state == OPEN and not b.allow()
    clock.now = 10.9
    assert not b.allow()
    clock.now = 11.0
    assert b.allow() and b.state == HALF_OPEN


def test_a_probe_whose_outcome_is_never_reported_does_not_wedge_it() -> None:
    clock = Clock()
    b = opened(clock, probe_timeout_s=3)
    clock.now = 5.0
    assert b.allow()  # ... and this probe is lost: no success(), no failure()
    clock.now = 7.9
    assert not b.allow()
    clock.now = 8.0
    assert b.allow()  # its lease ran out: a new probe may go
    b.success()
    assert b.state == CLOSED


def test_a_probe_released_unsent_frees_the_slot_at_once() -> None:
    clock = Clock()
    b = opened(clock)
    clock.now = 5.0
    assert b.allow()
    b.release()  # it was never sent (the caller's deadline was already spent): no verdict
    assert b.state == HALF_OPEN
    assert b.allow()


def test_business_answers_count_as_neither_but_close_a_half_open_breaker() -> None:
    clock = Clock()
    b = Breaker(failure_threshold=2, reset_after_s=5, clock=clock)
    b.failure()
    b.answered()  # e.g. NOT_FOUND: neither a failure nor a success
    b.failure()
    assert b.state == OPEN
    clock.now = 5.0
    assert b.allow()
    b.answered()  # the upstream answered with a well-formed status: it is reachable
    assert b.state == CLOSED


# --- the catalog client against a real catalog server ------------------------------------------

TRIP = ["UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "INTERNAL", "UNKNOWN"]
BUSINESS = ["NOT_FOUND", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "PERMISSION_DENIED", "UNAUTHENTICATED",
            "ALREADY_EXISTS", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "CANCELLED", "DATA_LOSS"]


def client(certs: Path, catalog: CatalogServer, breaker: Breaker, timeout_s: float = 2.0) -> CatalogClient:
    ch = make_channel(catalog.addr, channel_creds(certs, "recommendation"), "localhost")
    return CatalogClient(ch, timeout_s, breaker, retry=False)


def test_a_half_open_probe_out_of_deadline_before_sending_does_not_wedge_it(certs, catalog) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    b = opened(clock)
    c = client(certs, catalog, b)
    clock.now = 5.0
    with pytest.raises(DeadlineError):
        c.get("p1", deadline=time.monotonic() + 0.001)  # the probe: no time left to send it
    assert catalog.fake.calls == 0
    # Before: the probe slot stayed taken and every later call was "circuit open" until a restart.
    assert c.get("p1", deadline=time.monotonic() + 5).name == "Mug"
    assert b.state == CLOSED


def test_a_half_open_probe_ending_in_deadline_exceeded_reopens(certs, catalog) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    b = opened(clock)
    c = client(certs, catalog, b, timeout_s=0.2)  # catalog's own deadline, shorter than the caller's
    clock.now = 5.0
    catalog.fake.delay_s = 0.5
    with pytest.raises(UnavailableError):
        c.get("p1", deadline=time.monotonic() + 5)
    assert b.state == OPEN
    with pytest.raises(UnavailableError, match="circuit open"):
        c.get("p1", deadline=time.monotonic() + 5)


@pytest.mark.parametrize("code", TRIP)
def test_upstream_failures_trip(certs, catalog, code: str) -> None:  # type: ignore[no-untyped-def]
    b = Breaker(failure_threshold=2, reset_after_s=5)
    c = client(certs, catalog, b)
    catalog.fake.fail = grpc.StatusCode[code]
    for _ in range(2):
        with pytest.raises((UnavailableError, DeadlineError)):
            c.get("p1", deadline=time.monotonic() + 5)
    assert b.state == OPEN


@pytest.mark.parametrize("code", BUSINESS)
def test_business_errors_count_as_neither(certs, catalog, code: str) -> None:  # type: ignore[no-untyped-def]
    b = Breaker(failure_threshold=2, reset_after_s=5)
    c = client(certs, catalog, b)
    catalog.fake.fail = grpc.StatusCode.INTERNAL
    with pytest.raises(UnavailableError):
        c.get("p1", deadline=time.monotonic() + 5)
    catalog.fake.fail = grpc.StatusCode[code]
    for _ in range(3):
        with pytest.raises(CatalogError):
            c.get("p1", deadline=time.monotonic() + 5)
    assert b.state == CLOSED  # not failures ...
    catalog.fake.fail = grpc.StatusCode.INTERNAL
    with pytest.raises(UnavailableError):
        c.get("p1", deadline=time.monotonic() + 5)
    assert b.state == OPEN  # ... and not successes: the two INTERNALs were consecutive


def test_a_half_open_probe_answered_with_a_business_error_closes(certs, catalog) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    b = opened(clock)
    c = client(certs, catalog, b)
    clock.now = 5.0
    with pytest.raises(CatalogError):
        c.get("no-such-product", deadline=time.monotonic() + 5)
    assert b.state == CLOSED
