"""A shopper's journey through the shopmesh edge with Python clients generated from proto/ by buf
(gen/python): register or log in, list products, add to cart, place an order and read it back.
Prints the lines of output.py; exits 1 on any error.

    .venv/bin/python examples/python-client/shop_client.py [--addr 127.0.0.1:8080]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

# gen/python is generated code in this repository, not an installed package.
sys.path.insert(0, os.environ.get("GEN_PYTHON_DIR") or str(Path(__file__).resolve().parents[2] / "gen" / "python"))

import grpc  # noqa: E402

from output import Money, cart_line, order_line, product_line, total, user_line  # noqa: E402
from shop.auth.v1 import auth_pb2, auth_pb2_grpc  # noqa: E402
from shop.cart.v1 import cart_pb2, cart_pb2_grpc  # noqa: E402
from shop.catalog.v2 import catalog_pb2, catalog_pb2_grpc  # noqa: E402
from shop.order.v1 import order_pb2, order_pb2_grpc  # noqa: E402
from shop.payment.v1 import payment_pb2  # noqa: E402


def journey(channel: grpc.Channel, email: str, password: str, quantity: int, deadline: float) -> list[str]:
    """Runs the journey on one channel and returns the printed lines; raises on failure."""
    auth = auth_pb2_grpc.AuthServiceStub(channel)
    catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
    cart = cart_pb2_grpc.CartServiceStub(channel)
    orders = order_pb2_grpc.OrderServiceStub(channel)
    out: list[str] = []

    def left() -> float:
        # Every call gets what remains of the one journey deadline: nothing waits forever.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("journey deadline exceeded")
        return remaining

    def emit(line: str) -> None:
        print(line, flush=True)
        out.append(line)

    try:
        auth.Register(auth_pb2.RegisterRequest(email=email, password=password, display_name="Python client"), timeout=left())
    except grpc.RpcError as e:
        # Register is not idempotent: an existing account is fine, we log in to it.
        if e.code() != grpc.StatusCode.ALREADY_EXISTS:  # type: ignore[attr-defined]
            raise
    login = auth.Login(auth_pb2.LoginRequest(email=email, password=password), timeout=left())
    emit(user_line(login.user.id, login.user.email))
    authed = [("authorization", f"Bearer {login.access_token}")]

    listed = catalog.ListProducts(catalog_pb2.ListProductsRequest(page_size=20), timeout=left())
    product = next((p for p in listed.products if p.stock >= quantity), None)
    if product is None:
        raise RuntimeError("list products: no product has enough stock")
    emit(product_line(product.id, Money(product.price.currency_code, product.price.amount_minor)))

    cart.AddItem(cart_pb2.AddItemRequest(product_id=product.id, quantity=quantity), metadata=authed, timeout=left())
    items = cart.GetCart(cart_pb2.GetCartRequest(), metadata=authed, timeout=left()).cart.items
    if not items:
        raise RuntimeError("get cart: the cart is empty")
    # The cart holds ids and quantities; price it from the catalog to check the order's total.
    priced = catalog.BatchGetProducts(
        catalog_pb2.BatchGetProductsRequest(ids=[i.product_id for i in items]), timeout=left()
    ).products
    cart_total = total(
        [(Money(p.price.currency_code, p.price.amount_minor), i.quantity) for p, i in zip(priced, items, strict=True)]
    )
    emit(cart_line(len(items), cart_total))

    card = payment_pb2.CreditCard(number="4242424242424242", cvv="123", expiration_year=2030, expiration_month=12)
    placed = orders.PlaceOrder(
        order_pb2.PlaceOrderRequest(request_id=str(uuid.uuid4()), card=card), metadata=authed, timeout=left()
    )
    order = orders.GetOrder(order_pb2.GetOrderRequest(order_id=placed.order.id), metadata=authed, timeout=left()).order
    status = order_pb2.OrderStatus.Name(order.status)
    emit(order_line(order.id, status, Money(order.total.currency_code, order.total.amount_minor), cart_total))
    if order.status != order_pb2.ORDER_STATUS_CONFIRMED:
        raise RuntimeError(f"order {order.id} is {status}: {order.failure_reason}")
    return out


def main() -> int:
    """Parses flags, runs the journey against the edge, and exits 0 or 1."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addr", default="127.0.0.1:8080", help="the edge, plaintext h2c")
    p.add_argument("--email", default=f"python-client-{secrets.token_hex(6)}@example.com")
    p.add_argument("--password", default="python-client-password")
    p.add_argument("--quantity", type=int, default=2)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole journey")
    a = p.parse_args()
    # The edge speaks plaintext h2c locally; in a cluster, point --addr at the ingress gateway.
    with grpc.insecure_channel(a.addr) as channel:
        try:
            journey(channel, a.email, a.password, a.quantity, time.monotonic() + a.timeout)
        except grpc.RpcError as e:
            print(f"python-client: {e.code().name}: {e.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1
        except (RuntimeError, TimeoutError, ValueError) as e:
            print(f"python-client: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
