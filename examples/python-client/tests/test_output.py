"""The printed format is what the e2e test parses: keep it exact."""

import pytest

from output import ORDER_LINE, Money, cart_line, order_line, total


def test_total_multiplies_and_adds_in_minor_units() -> None:
    assert total([(Money("USD", 1250), 2), (Money("USD", 99), 3)]) == Money("USD", 2797)


def test_total_refuses_mixed_currencies() -> None:
    with pytest.raises(ValueError):
        total([(Money("USD", 1), 1), (Money("EUR", 1), 1)])


def test_order_line_parses_back() -> None:
    line = order_line("ord_1", "ORDER_STATUS_CONFIRMED", Money("USD", 2500), Money("USD", 2500))
    m = ORDER_LINE.match(line)
    assert m and m["id"] == "ord_1" and m["minor"] == m["cart_minor"] == "2500" and m["cur"] == "USD"
    assert cart_line(1, Money("EUR", 7)) == "cart items 1 cart_total EUR 7"
