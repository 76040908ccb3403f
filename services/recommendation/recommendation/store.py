"""Purchase counts in Redis: one sorted set of product id -> units bought, plus per-order markers."""

from __future__ import annotations

from typing import Protocol

import redis

from .domain import Purchase
from .errors import UnavailableError

COUNTS_KEY = "reco:counts"
ORDER_KEY_PREFIX = "reco:order:"
# Orders are reported at most a few minutes after checkout; 30 days of markers is ample dedup.
ORDER_MARKER_TTL_S = 30 * 24 * 3600

# One script, so the marker and the increments land together or not at all: Redis runs a
# script atomically and logs its effects as one transaction, so a crash cannot half-count.
_RECORD_LUA = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('ZINCRBY', KEYS[2], ARGV[i + 1], ARGV[i]) end
return 1
"""


class CountStore(Protocol):
    """Where purchase counts live; returns plain values, never driver types."""

    def record(self, purchase: Purchase) -> bool:
        """Counts an order's items once; False when this order_id was already counted."""
        ...

    def top(self, n: int) -> list[tuple[str, int]]:
        """The n most bought products with their counts, best first."""
        ...

    def ping(self) -> None:
        """Raises UnavailableError when the store cannot be reached."""
        ...


class RedisCountStore:
    """CountStore on Redis; every Redis failure becomes UnavailableError."""

    def __init__(self, url: str, timeout_s: float = 1.0) -> None:
        # Short socket timeouts: a stuck Redis must surface as UNAVAILABLE, not hang the handler.
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, decode_responses=True
        )
        self._record = self._redis.register_script(_RECORD_LUA)

    @property
    def client(self) -> redis.Redis:
        """The redis-py client, for tracing.py to make a span of each command."""
        return self._redis

    def record(self, purchase: Purchase) -> bool:
        args: list[str | int] = [ORDER_MARKER_TTL_S]
        for pid, qty in sorted(purchase.quantities.items()):
            args += [pid, qty]
        try:
            return bool(self._record(keys=[ORDER_KEY_PREFIX + purchase.order_id, COUNTS_KEY], args=args))
        except redis.RedisError as e:
            raise UnavailableError("purchase store unavailable") from e

    def top(self, n: int) -> list[tuple[str, int]]:
        try:
            rows = self._redis.zrevrange(COUNTS_KEY, 0, n - 1, withscores=True)
        except redis.RedisError as e:
            raise UnavailableError("purchase store unavailable") from e
        return [(str(pid), int(score)) for pid, score in rows]

    def ping(self) -> None:
        try:
            self._redis.ping()
        except redis.RedisError as e:
            raise UnavailableError("purchase store unavailable") from e

    def close(self) -> None:
        """Releases the connection pool."""
        self._redis.close()
