"""The catalog v2 client: mTLS in local mode, a deadline on every call, a breaker, one retry."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Sequence

import grpc

from shop.catalog.v2 import catalog_pb2, catalog_pb2_grpc

from .breaker import Breaker
from .errors import DeadlineError, UnavailableError
from .tracing import ClientCall, Tracing

# Codes that say "catalog is unhealthy": they trip the breaker; others are answers that count as
# neither. The same set as tripCodes in mesh/src/breaker.ts (docs/architecture.md, "Retries and breakers").
_UNHEALTHY = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}
_SERVICE = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name
# Below this much time left there is no point in calling: the answer could not come back.
_MIN_CALL_S = 0.005


@dataclass(frozen=True)
class ProductInfo:
    """What a recommendation needs from a catalog product."""

    id: str
    name: str
    currency_code: str
    amount_minor: int


class CatalogError(Exception):
    """The catalog answered with a business error (e.g. NOT_FOUND); `code` says which."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def make_channel(
    addr: str, creds: grpc.ChannelCredentials | None, tls_name: str = "", authority: str = ""
) -> grpc.Channel:
    """A channel to catalog: secure with the given mTLS credentials, else plaintext (istio), where
    `authority` names the service for the sidecar's routing."""
    if creds is None:
        return grpc.insecure_channel(addr, options=[("grpc.default_authority", authority)] if authority else [])
    opts = [("grpc.ssl_target_name_override", tls_name)] if tls_name else []
    return grpc.secure_channel(addr, creds, options=opts)


class CatalogClient:
    """Calls catalog v2 read methods; raises UnavailableError/DeadlineError or CatalogError."""

    def __init__(
        self,
        channel: grpc.Channel,
        default_timeout_s: float,
        breaker: Breaker,
        retry: bool = True,
        tracing: Tracing | None = None,
        target: str = "",
    ) -> None:
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self._tracing = tracing or Tracing()
        self._target = target  # the channel's address, as the client spans' server.address
        self._timeout = default_timeout_s
        self._breaker = breaker
        # Istio retries for us; two retrying layers multiply attempts, so istio mode passes False.
        self._retry = retry

    def batch_get(
        self, ids: Sequence[str], deadline: float | None, metadata: Sequence[tuple[str, str]] = ()
    ) -> list[ProductInfo]:
        """Products in the order asked; CatalogError(NOT_FOUND) when any id is unknown."""
        req = catalog_pb2.BatchGetProductsRequest(ids=list(ids))
        res = self._call("BatchGetProducts", req, deadline, metadata)
        return [_info(p) for p in res.products]

    def get(
        self, pid: str, deadline: float | None, metadata: Sequence[tuple[str, str]] = ()
    ) -> ProductInfo:
        """One product; CatalogError(NOT_FOUND) when unknown."""
        res = self._call("GetProduct", catalog_pb2.GetProductRequest(id=pid), deadline, metadata)
        return _info(res.product)

    def first_page(
        self, page_size: int, deadline: float | None, metadata: Sequence[tuple[str, str]] = ()
    ) -> list[ProductInfo]:
        """The first page of products in id order (the cold-start candidates)."""
        req = catalog_pb2.ListProductsRequest(page_size=page_size)
        res = self._call("ListProducts", req, deadline, metadata)
        return [_info(p) for p in res.products]

    def _call(self, name: str, req, deadline: float | None, metadata: Sequence[tuple[str, str]]):  # type: ignore[no-untyped-def]
        """One logical call: one CLIENT span (tracing.py) over its attempts; its traceparent is sent."""
        trace = self._tracing.client_call(_SERVICE, name, self._target)
        md = list(metadata)
        if trace.traceparent is not None:
            md.append(("traceparent", trace.traceparent))
        code, message = grpc.StatusCode.OK, ""
        try:
            return self._attempts(getattr(self._stub, name), req, deadline, md, trace)
        except Exception as e:
            # What catalog last answered; else why no answer came (the breaker, the deadline).
            code, message = trace.answered or getattr(e, "code", grpc.StatusCode.UNKNOWN), str(e)
            raise
        finally:
            trace.end(code, message)

    def _attempts(self, method, req, deadline: float | None, metadata: list[tuple[str, str]], trace: ClientCall):  # type: ignore[no-untyped-def]
        attempts = 2 if self._retry else 1
        for attempt in range(attempts):
            if not self._breaker.allow():
                trace.refused(self._breaker.state)
                raise UnavailableError("catalog unavailable (circuit open)")
            trace.attempt(self._breaker.state)
            # Every allowed call reports exactly one outcome (breaker.py): `verdict` names it, and a
            # call that ends any other way (never sent, or a local exception) releases its slot.
            verdict = self._breaker.release
            try:
                timeout = self._timeout
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left < _MIN_CALL_S:
                        raise DeadlineError("deadline exceeded before calling catalog")
                    timeout = min(timeout, left)
                try:
                    res = method(req, timeout=timeout, metadata=metadata)
                except grpc.RpcError as e:
                    code = e.code()  # type: ignore[attr-defined]
                    trace.answered = code
                    if code not in _UNHEALTHY:
                        verdict = self._breaker.answered
                        raise CatalogError(code, e.details() or "") from None  # type: ignore[attr-defined]
                    verdict = self._breaker.failure
                    caller_out_of_time = deadline is not None and deadline - time.monotonic() < _MIN_CALL_S
                    if caller_out_of_time:
                        raise DeadlineError("deadline exceeded waiting for catalog") from None
                    # Only UNAVAILABLE is safe to repeat blindly (the call did not start);
                    # reads are NO_SIDE_EFFECTS anyway, but a slow catalog gets no extra load.
                    if code == grpc.StatusCode.UNAVAILABLE and attempt + 1 < attempts:
                        backoff = random.uniform(0.025, 0.075)
                        if deadline is None or deadline - time.monotonic() > backoff + 0.05:
                            time.sleep(backoff)
                            continue  # the finally reports this failure before the next allow()
                    raise UnavailableError(f"catalog unavailable ({code.name.lower()})") from None
                verdict = self._breaker.success
                return res
            finally:
                verdict()
        raise UnavailableError("catalog unavailable")  # unreachable: the loop returns or raises


def _info(p: catalog_pb2.Product) -> ProductInfo:
    return ProductInfo(p.id, p.name, p.price.currency_code, p.price.amount_minor)
