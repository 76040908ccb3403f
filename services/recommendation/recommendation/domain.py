"""Pure rules of the service: request validation and ranking. No I/O, so unit tests are plain."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Violations

PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_MAX_RESULTS = 5
MAX_RESULTS_LIMIT = 20
MAX_EXCLUDES = 100
MAX_ORDER_ID_LEN = 128
MAX_ITEMS = 100
MAX_QUANTITY = 99


@dataclass(frozen=True)
class ListQuery:
    """A validated ListRecommendations request."""

    exclude: frozenset[str]
    max_results: int


@dataclass(frozen=True)
class Purchase:
    """A validated RecordPurchase request; quantities are summed per product."""

    order_id: str
    quantities: dict[str, int]


def validate_list(exclude_product_ids: list[str], max_results: int) -> ListQuery:
    """Checks a ListRecommendations request against the contract; raises ValidationError."""
    v = Violations()
    if v.check(
        len(exclude_product_ids) <= MAX_EXCLUDES,
        "exclude_product_ids",
        f"at most {MAX_EXCLUDES} ids, got {len(exclude_product_ids)}",
    ):
        for i, pid in enumerate(exclude_product_ids):
            v.check(
                bool(PRODUCT_ID.match(pid)),
                f"exclude_product_ids[{i}]",
                "must be 1 to 64 characters of [A-Za-z0-9_-]",
            )
    v.check(
        max_results == 0 or 1 <= max_results <= MAX_RESULTS_LIMIT,
        "max_results",
        f"must be 0 (default {DEFAULT_MAX_RESULTS}) or 1 to {MAX_RESULTS_LIMIT}",
    )
    v.raise_if_any()
    return ListQuery(frozenset(exclude_product_ids), max_results or DEFAULT_MAX_RESULTS)


def validate_purchase(order_id: str, items: list[tuple[str, int]]) -> Purchase:
    """Checks a RecordPurchase request against the contract; raises ValidationError."""
    v = Violations()
    v.check(
        1 <= len(order_id) <= MAX_ORDER_ID_LEN and order_id.isprintable() and order_id.strip() == order_id,
        "order_id",
        f"must be 1 to {MAX_ORDER_ID_LEN} printable characters without surrounding spaces",
    )
    if v.check(len(items) >= 1, "items", "at least one item is required") and v.check(
        len(items) <= MAX_ITEMS, "items", f"at most {MAX_ITEMS} items, got {len(items)}"
    ):
        for i, (pid, qty) in enumerate(items):
            v.check(
                bool(PRODUCT_ID.match(pid)),
                f"items[{i}].product_id",
                "must be 1 to 64 characters of [A-Za-z0-9_-]",
            )
            v.check(
                1 <= qty <= MAX_QUANTITY, f"items[{i}].quantity", f"must be 1 to {MAX_QUANTITY}"
            )
    v.raise_if_any()
    quantities: dict[str, int] = {}
    for pid, qty in items:
        quantities[pid] = quantities.get(pid, 0) + qty
    return Purchase(order_id, quantities)


def rank(counts: list[tuple[str, int]], exclude: frozenset[str], limit: int) -> list[tuple[str, int]]:
    """Best sellers first, ties by product id so the order is stable; excluded ids dropped."""
    kept = [(pid, n) for pid, n in counts if pid not in exclude and n > 0]
    kept.sort(key=lambda c: (-c[1], c[0]))
    return kept[:limit]


def fill(ranked: list[str], candidates: list[str], exclude: frozenset[str], limit: int) -> list[str]:
    """Tops up a short ranking with catalog products nobody bought yet (the cold start)."""
    out = list(ranked)
    seen = set(out) | exclude
    for pid in candidates:
        if len(out) >= limit:
            break
        if pid not in seen:
            out.append(pid)
            seen.add(pid)
    return out
