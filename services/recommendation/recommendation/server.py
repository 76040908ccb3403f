"""Wires the service: gRPC server (mTLS in local mode), access checks, error mapping, health,
reflection, metrics, and graceful shutdown."""

from __future__ import annotations

import logging
import time
from concurrent import futures
from dataclasses import dataclass
from typing import Callable, TypeVar

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from shop.recommendation.v1 import recommendation_pb2 as pb

from .access import Access, load_rules, peer_ids
from .breaker import Breaker
from .catalog import CatalogClient, make_channel
from .config import Config
from .errors import DomainError, ValidationError
from .handlers import Handlers
from .jwt import JwksVerifier, RejectAll, TokenVerifier
from .metrics import AdminServer, Metrics
from .reflection import enable_reflection
from .rpc_status import FieldViolation, bad_request_trailer
from .store import CountStore, RedisCountStore
from .tracing import Tracing, current_call, make_tracing

log = logging.getLogger("recommendation")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RecommendationService"].full_name
# grpc reports "no deadline" as a huge remaining time; beyond this we treat it as none.
_NO_DEADLINE_S = 10**6
# Forwarded to catalog: the trace state, and the canary's routing header, so a call that came on
# the canary path (x-shop-canary, istio/components/canary) stays on it. The traceparent is not
# forwarded as it came: each catalog call sends its own span's (catalog.py, tracing.py).
_PROPAGATED = ("tracestate", "x-shop-canary")

Req = TypeVar("Req")
Res = TypeVar("Res")


@dataclass
class RunningServer:
    """A started service: its ports, health, and stop()."""

    port: int
    admin_port: int | None
    server: grpc.Server
    health: health.HealthServicer
    metrics: Metrics
    _closers: list[Callable[[], None]]
    serving: bool = False

    def set_serving(self, serving: bool) -> None:
        """Flips grpc.health.v1 for the whole server and this service."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME):
            self.health.set(name, status)
        self.serving = serving

    def stop(self, grace_s: float) -> None:
        """NOT_SERVING first so balancers drain us, then lets in-flight calls finish."""
        self.serving = False
        self.health.enter_graceful_shutdown()
        self.server.stop(grace_s).wait()
        for close in self._closers:
            close()


def read_mtls(cfg: Config) -> tuple[bytes, bytes, bytes]:
    """(ca, cert chain, private key) of this service's dev certificate."""
    d = cfg.cert_dir
    return (
        (d / "ca.pem").read_bytes(),
        (d / "recommendation.pem").read_bytes(),
        (d / "recommendation-key.pem").read_bytes(),
    )


def start_server(
    cfg: Config,
    store: CountStore | None = None,
    verifier: TokenVerifier | None = None,
) -> RunningServer:
    """Starts serving per cfg; store and verifier can be injected (tests), else built from cfg."""
    metrics = Metrics()
    closers: list[Callable[[], None]] = []
    local = cfg.mesh_mode == "local"
    creds = None
    if local:
        ca, cert, key = read_mtls(cfg)
        channel_creds = grpc.ssl_channel_credentials(ca, key, cert)
        creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)
    else:
        channel_creds = None
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), maximum_concurrent_rpcs=256)
    addr = f"{cfg.host}:{cfg.port}"
    port = server.add_secure_port(addr, creds) if creds else server.add_insecure_port(addr)
    if port == 0:
        raise OSError(f"cannot listen on {addr}")
    # After the bind, since server spans name the port; the SDK loads only when OTEL_* turn it on.
    tracing = make_tracing(cfg.tracing, cfg.host, port)
    if store is None:
        redis_store = RedisCountStore(cfg.redis_url)
        tracing.trace_redis(redis_store.client)
        closers.append(redis_store.close)
        store = redis_store
    if verifier is None:
        if cfg.jwks_url:
            jwks = JwksVerifier(cfg.jwks_url, issuer=cfg.jwt_issuer, audience=cfg.jwt_audience)
            jwks.prefetch()
            verifier = jwks
        else:
            verifier = RejectAll()
            log.warning("JWKS_URL is empty: RecordPurchase will refuse every call")
    channel = make_channel(cfg.catalog_addr, channel_creds, cfg.catalog_tls_name, cfg.catalog_authority)
    closers.append(channel.close)
    # A catalog call never outlives CATALOG_TIMEOUT_MS, so a probe silent for longer than that is lost.
    breaker = Breaker(on_state=metrics.breaker_listener("catalog"), probe_timeout_s=cfg.catalog_timeout_s + 1.0)
    catalog = CatalogClient(channel, cfg.catalog_timeout_s, breaker, retry=local, tracing=tracing, target=cfg.catalog_addr)
    handlers = Handlers(store, catalog)
    access = Access(load_rules(cfg.topology_path), verifier, check_peer=local)

    server.add_generic_rpc_handlers((_Servicer(handlers, access, metrics, tracing).generic_handler(),))
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(server, [SERVICE_NAME, health.SERVICE_NAME])
    closers.append(tracing.shutdown)  # last: the calls drained by stop() end their spans first
    server.start()
    admin_port = None
    running = RunningServer(port, None, server, health_servicer, metrics, closers)
    if cfg.admin_port is not None:
        admin = AdminServer(cfg.host, cfg.admin_port, metrics, lambda: running.serving)
        closers.insert(0, admin.close)
        admin_port = admin.port
    running.admin_port = admin_port
    running.set_serving(True)
    log.info("serving", extra={"port": port, "admin_port": admin_port, "mode": cfg.mesh_mode})
    return running


class _Servicer:
    """Adapts gRPC calls to Handlers: access, decoding, deadline, metrics, and the one error map.

    Requests arrive as raw bytes and are decoded here, not by grpcio: grpcio answers a request its
    deserializer rejects with INTERNAL before any handler runs, and bad input is INVALID_ARGUMENT.
    """

    def __init__(self, handlers: Handlers, access: Access, metrics: Metrics, tracing: Tracing) -> None:
        self._h = handlers
        self._access = access
        self._metrics = metrics
        self._tracing = tracing

    def generic_handler(self) -> grpc.GenericRpcHandler:
        """The RecommendationService methods, with pass-through request bytes."""
        return grpc.method_handlers_generic_handler(SERVICE_NAME, {
            "ListRecommendations": grpc.unary_unary_rpc_method_handler(
                self.ListRecommendations, response_serializer=pb.ListRecommendationsResponse.SerializeToString),
            "RecordPurchase": grpc.unary_unary_rpc_method_handler(
                self.RecordPurchase, response_serializer=pb.RecordPurchaseResponse.SerializeToString),
        })

    def ListRecommendations(self, request: bytes, context: grpc.ServicerContext) -> pb.ListRecommendationsResponse:  # noqa: N802
        return self._run(
            "ListRecommendations", pb.ListRecommendationsRequest, request, context,
            lambda r, deadline, md: self._h.list_recommendations(r, deadline, md),
        )

    def RecordPurchase(self, request: bytes, context: grpc.ServicerContext) -> pb.RecordPurchaseResponse:  # noqa: N802
        return self._run("RecordPurchase", pb.RecordPurchaseRequest, request, context, lambda r, _d, _m: self._h.record_purchase(r))

    def _run(
        self,
        method: str,
        request_type: type[Req],
        raw: bytes,
        context: grpc.ServicerContext,
        fn: Callable[[Req, float | None, list[tuple[str, str]]], Res],
    ) -> Res:
        path = f"/{SERVICE_NAME}/{method}"
        labels = ("unary", SERVICE_NAME, method)
        self._metrics.started.labels(*labels).inc()
        start = time.monotonic()
        inbound = context.invocation_metadata() or ()
        md = [(k, v) for k, v in inbound if k in _PROPAGATED and isinstance(v, str)]
        traceparent = next((v for k, v in inbound if k == "traceparent" and isinstance(v, str)), None)
        call = self._tracing.server_start(SERVICE_NAME, method, traceparent)
        token = current_call.set(call)
        code, message = grpc.StatusCode.OK, ""
        try:
            self._access.authorize(path, context)
            try:
                request = request_type.FromString(raw)  # type: ignore[attr-defined]
            except DecodeError:
                raise ValidationError([FieldViolation("", f"not a valid {request_type.__name__} message")]) from None
            remaining = context.time_remaining()
            deadline = None if remaining is None or remaining > _NO_DEADLINE_S else start + remaining
            return fn(request, deadline, md)
        except ValidationError as e:
            code, message = e.code, str(e)
            context.set_trailing_metadata(bad_request_trailer(code.value[0], message, e.violations))
        except DomainError as e:
            code, message = e.code, str(e)
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                log.warning("%s failed: %s", method, message, extra={"grpc_code": code.name})
        except Exception:
            # The real error goes to our log; the client learns only that it was ours.
            log.exception("%s failed", method)
            code, message = grpc.StatusCode.INTERNAL, "internal error"
        finally:
            self._metrics.handled.labels(*labels, code.name).inc()
            self._metrics.seconds.labels(*labels).observe(time.monotonic() - start)
            self._tracing.server_end(call, code, message, _caller(context) if self._tracing.enabled else None)
            current_call.reset(token)
        context.abort(code, message)
        raise AssertionError("unreachable: abort raises")


def _caller(context: grpc.ServicerContext) -> str | None:
    """The caller's mesh name from its certificate's SPIFFE id (local mode), for shop.caller."""
    ids = sorted(peer_ids(context.auth_context()))
    return ids[0].rsplit("/sa/", 1)[-1] if ids else None
