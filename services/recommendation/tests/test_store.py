"""Purchase counts against a real redis-server."""

import time
import uuid

import pytest
import redis

from recommendation.domain import validate_purchase
from recommendation.errors import UnavailableError
from recommendation.store import COUNTS_KEY, RedisCountStore


@pytest.fixture
def store(redis_url: str) -> RedisCountStore:
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    r.close()
    return RedisCountStore(redis_url)


def test_an_order_is_counted_once_however_often_it_is_reported(store: RedisCountStore) -> None:
    p = validate_purchase("order-1", [("mug", 2), ("lamp", 1), ("mug", 1)])
    assert store.record(p) is True
    assert store.record(p) is False
    assert store.record(validate_purchase("order-2", [("lamp", 4)])) is True
    assert store.top(10) == [("lamp", 5), ("mug", 3)]
    assert store.top(1) == [("lamp", 5)]


def test_concurrent_retries_of_one_order_count_once(store: RedisCountStore, redis_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    p = validate_purchase(f"o-{uuid.uuid4()}", [("kite", 1)])
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.record(p), range(16)))
    assert results.count(True) == 1
    assert redis.Redis.from_url(redis_url).zscore(COUNTS_KEY, "kite") == 1


def test_unreachable_redis_is_unavailable_quickly() -> None:
    from conftest import free_port

    dead = RedisCountStore(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(UnavailableError):
        dead.top(5)
    with pytest.raises(UnavailableError):
        dead.record(validate_purchase("o", [("a", 1)]))
    assert time.monotonic() - start < 3
