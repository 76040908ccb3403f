"""A small circuit breaker: after N consecutive failures, fail fast for a cool-down, then probe."""

from __future__ import annotations

import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    """Thread-safe consecutive-failure breaker; business errors must be reported as neither."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_after = reset_after_s
        self._clock = clock
        self._on_state = on_state
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> str:
        """closed, open or half_open."""
        with self._lock:
            return self._state

    def allow(self) -> bool:
        """True when a call may go out; in half-open, only one probe at a time."""
        with self._lock:
            if self._state == OPEN and self._clock() - self._opened_at >= self._reset_after:
                self._set(HALF_OPEN)
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def success(self) -> None:
        """A call completed (including business errors: they prove the upstream is alive)."""
        with self._lock:
            self._failures = 0
            self._probe_out = False
            if self._state != CLOSED:
                self._set(CLOSED)

    def failure(self) -> None:
        """A call failed in a way that says the upstream is unhealthy."""
        with self._lock:
            self._probe_out = False
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self._threshold:
                self._opened_at = self._clock()
                self._set(OPEN)

    def _set(self, state: str) -> None:
        self._state = state
        if self._on_state:
            self._on_state(state)
