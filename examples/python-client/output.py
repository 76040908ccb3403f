"""The output format shared with examples/go-client (documented in docs/polyglot.md): one line per
step, space-separated words, money as "<ISO 4217 code> <minor units>"."""

from __future__ import annotations

import re
from dataclasses import dataclass

ORDER_LINE = re.compile(
    r"^order (?P<id>\S+) status (?P<status>\S+) total (?P<cur>[A-Z]{3}) (?P<minor>\d+)"
    r" cart_total (?P<cart_cur>[A-Z]{3}) (?P<cart_minor>\d+)$"
)


@dataclass(frozen=True)
class Money:
    """An exact amount in a currency's minor unit."""

    currency: str
    minor: int

    def __str__(self) -> str:
        return f"{self.currency} {self.minor}"


def total(lines: list[tuple[Money, int]]) -> Money:
    """Sum of unit price times quantity; one currency only, as an order is charged in one."""
    currencies = {unit.currency for unit, _ in lines}
    if len(currencies) != 1:
        raise ValueError(f"cannot total a cart in currencies {sorted(currencies)}")
    return Money(currencies.pop(), sum(unit.minor * qty for unit, qty in lines))


def user_line(user_id: str, email: str) -> str:
    """`user <user_id> <email>`"""
    return f"user {user_id} {email}"


def product_line(product_id: str, price: Money) -> str:
    """`product <product_id> <currency> <amount_minor>`"""
    return f"product {product_id} {price}"


def cart_line(items: int, cart_total: Money) -> str:
    """`cart items <n> cart_total <currency> <amount_minor>`"""
    return f"cart items {items} cart_total {cart_total}"


def order_line(order_id: str, status: str, order_total: Money, cart_total: Money) -> str:
    """`order <id> status <ORDER_STATUS_...> total <cur> <minor> cart_total <cur> <minor>`"""
    return f"order {order_id} status {status} total {order_total} cart_total {cart_total}"
