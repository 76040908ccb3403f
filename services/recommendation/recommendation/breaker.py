"""A small circuit breaker: after N consecutive failures, fail fast for a cool-down, then probe.

What counts as a failure is the rule of mesh/src/breaker.ts (docs/architecture.md, "Retries and
breakers"): catalog.py reports UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and
UNKNOWN as failure(); business errors as answered(), which counts as neither. Every allow() that
returned True must end in exactly one of success(), failure(), answered() or release(); a half-open
probe whose outcome never comes back anyway expires after probe_timeout_s, so it cannot wedge the
breaker half-open.

Kept rather than pybreaker: its CircuitBreaker.call holds the breaker's one lock across the
protected call, which would serialize every catalog call of the service.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    """Thread-safe consecutive-failure breaker; its lock is never held across a call."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_state: Callable[[str], None] | None = None,
        probe_timeout_s: float = 10.0,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_after = reset_after_s
        self._probe_timeout = probe_timeout_s
        self._clock = clock
        self._on_state = on_state
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_since: float | None = None  # when the half-open probe went out, if one is out

    @property
    def state(self) -> str:
        """closed, open or half_open."""
        with self._lock:
            return self._state

    def allow(self) -> bool:
        """True when a call may go out; in half-open, only one probe at a time."""
        with self._lock:
            now = self._clock()
            if self._state == OPEN and now - self._opened_at >= self._reset_after:
                self._set(HALF_OPEN)
                self._probe_since = None
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN:
                lost = self._probe_since is not None and now - self._probe_since >= self._probe_timeout
                if self._probe_since is None or lost:
                    self._probe_since = now
                    return True
            return False

    def success(self) -> None:
        """The call completed: the upstream is healthy."""
        with self._lock:
            self._failures = 0
            self._probe_since = None
            if self._state != CLOSED:
                self._set(CLOSED)

    def failure(self) -> None:
        """The call failed in a way that says the upstream is unhealthy."""
        with self._lock:
            self._probe_since = None
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self._threshold:
                self._opened_at = self._clock()
                if self._state != OPEN:
                    self._set(OPEN)

    def answered(self) -> None:
        """A business error (NOT_FOUND, INVALID_ARGUMENT, ...): neither a failure nor a success.

        The consecutive-failure count is left as it is. A half-open probe answered this way closes
        the breaker, as in mesh/src/breaker.ts: a well-formed status means the upstream is reachable.
        """
        with self._lock:
            if self._state == HALF_OPEN:
                self._failures = 0
                self._probe_since = None
                self._set(CLOSED)

    def release(self) -> None:
        """An allowed call never went out (e.g. no time left): no verdict; frees the probe slot."""
        with self._lock:
            self._probe_since = None

    def _set(self, state: str) -> None:
        self._state = state
        if self._on_state:
            self._on_state(state)
