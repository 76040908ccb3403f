"""The real service on a free port, over mTLS, with a fake catalog and a real redis-server."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from conftest import CatalogServer, JwksHttp, JwtSigner, channel_creds, free_port
from recommendation.config import REPO_ROOT, load_config
from recommendation.jwt import JwksVerifier
from recommendation.rpc_status import STATUS_DETAILS_KEY, decode_bad_request
from recommendation.server import RunningServer, start_server
from recommendation.store import RedisCountStore
from shop.recommendation.v1 import recommendation_pb2 as pb
from shop.recommendation.v1 import recommendation_pb2_grpc as pb_grpc

SERVICE = "shop.recommendation.v1.RecommendationService"


def config(certs: Path, redis_url: str, catalog_addr: str, timeout_ms: int = 2000, **env: str):  # type: ignore[no-untyped-def]
    return load_config({
        "PORT": "0", "ADMIN_PORT": "0", "REDIS_URL": redis_url, "CATALOG_ADDR": catalog_addr,
        "CATALOG_TIMEOUT_MS": str(timeout_ms), "MESH_MODE": "local", "MESH_CERT_DIR": str(certs),
        "TOPOLOGY_PATH": str(REPO_ROOT / "mesh" / "topology.json"), **env,
    })


@pytest.fixture
def service(certs: Path, redis_url: str, catalog: CatalogServer, signer: JwtSigner) -> Iterator[RunningServer]:
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    r.close()
    jwks = signer.jwks()
    running = start_server(
        config(certs, redis_url, catalog.addr),
        verifier=JwksVerifier("http://unused", fetch=lambda _u: jwks),
    )
    yield running
    running.stop(0)


def channel(certs: Path, port: int, name: str = "edge") -> grpc.Channel:
    return grpc.secure_channel(f"127.0.0.1:{port}", channel_creds(certs, name))


def stub(certs: Path, port: int, name: str = "edge") -> pb_grpc.RecommendationServiceStub:
    return pb_grpc.RecommendationServiceStub(channel(certs, port, name))


def record(certs: Path, service: RunningServer, signer: JwtSigner, order_id: str, items: list[tuple[str, int]]) -> None:
    token = signer.sign({"sub": "u1", "exp": time.time() + 60})
    stub(certs, service.port, "order").RecordPurchase(
        pb.RecordPurchaseRequest(order_id=order_id, items=[pb.PurchasedItem(product_id=p, quantity=q) for p, q in items]),
        metadata=[("authorization", f"Bearer {token}")], timeout=5,
    )


def test_recommends_best_sellers_with_catalog_details_then_fills(certs, service, signer, catalog) -> None:  # type: ignore[no-untyped-def]
    record(certs, service, signer, "o1", [("p3", 2), ("p2", 1)])
    record(certs, service, signer, "o1", [("p3", 2), ("p2", 1)])  # a retry: not counted again
    record(certs, service, signer, "o2", [("p2", 5)])
    res = stub(certs, service.port).ListRecommendations(
        pb.ListRecommendationsRequest(max_results=3, exclude_product_ids=["p1"]), timeout=5
    )
    got = [(r.product_id, r.name, r.price.currency_code, r.price.amount_minor, r.purchase_count) for r in res.recommendations]
    assert got == [("p2", "Lamp", "USD", 4599, 6), ("p3", "Sock", "USD", 350, 2), ("p4", "Kite", "USD", 2000, 0)]
    # The catalog saw our mesh identity, so the call really went over mTLS.
    assert "spiffe://shop.local/ns/shop/sa/recommendation" in catalog.fake.callers


def test_the_canary_header_is_forwarded_to_catalog(certs, service, catalog) -> None:  # type: ignore[no-untyped-def]
    # A request on the catalog canary's path (x-shop-canary, istio/components/canary) stays on it.
    req = pb.ListRecommendationsRequest(max_results=1)
    stub(certs, service.port).ListRecommendations(req, timeout=5, metadata=[("x-shop-canary", "v2")])
    assert catalog.fake.canary == ["v2"]
    stub(certs, service.port).ListRecommendations(req, timeout=5)
    assert catalog.fake.canary == ["v2"]


def test_bad_input_is_invalid_argument_with_field_violations(certs, service) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as e:
        stub(certs, service.port).ListRecommendations(
            pb.ListRecommendationsRequest(max_results=99, exclude_product_ids=["ok", "no spaces"]), timeout=5
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = dict(e.value.trailing_metadata())[STATUS_DETAILS_KEY]
    code, _msg, violations = decode_bad_request(details)
    assert code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert [v.field for v in violations] == ["exclude_product_ids[1]", "max_results"]


def test_undecodable_bytes_are_invalid_argument_and_the_service_keeps_serving(certs, service) -> None:  # type: ignore[no-untyped-def]
    # Field 1 (exclude_product_ids, a string) sent as a varint: the wire type is wrong.
    raw = channel(certs, service.port).unary_unary(f"/{SERVICE}/ListRecommendations")
    with pytest.raises(grpc.RpcError) as e:
        raw(b"\x08\x01\xff\xff", timeout=5)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    code, _msg, violations = decode_bad_request(dict(e.value.trailing_metadata())[STATUS_DETAILS_KEY])
    assert code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert violations[0].description == "not a valid ListRecommendationsRequest message"
    res = stub(certs, service.port).ListRecommendations(pb.ListRecommendationsRequest(max_results=1), timeout=5)
    assert len(res.recommendations) == 1


def test_record_purchase_needs_a_valid_jwt(certs, service, signer) -> None:  # type: ignore[no-untyped-def]
    req = pb.RecordPurchaseRequest(order_id="o9", items=[pb.PurchasedItem(product_id="p1", quantity=1)])
    s = stub(certs, service.port, "order")
    with pytest.raises(grpc.RpcError) as e:
        s.RecordPurchase(req, timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    expired = signer.sign({"sub": "u1", "exp": 1000})
    with pytest.raises(grpc.RpcError) as e:
        s.RecordPurchase(req, metadata=[("authorization", f"Bearer {expired}")], timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_callers_are_checked_against_the_topology(certs, service, signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign({"sub": "u1", "exp": time.time() + 60})
    req = pb.RecordPurchaseRequest(order_id="o9", items=[pb.PurchasedItem(product_id="p1", quantity=1)])
    # The edge may list recommendations but not record purchases (only order may).
    with pytest.raises(grpc.RpcError) as e:
        stub(certs, service.port, "edge").RecordPurchase(req, metadata=[("authorization", f"Bearer {token}")], timeout=5)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A certificate from another CA is refused at the TLS handshake.
    rogue = grpc.ssl_channel_credentials(
        (certs / "ca.pem").read_bytes(),
        (certs / "other" / "order-key.pem").read_bytes(),
        (certs / "other" / "order.pem").read_bytes(),
    )
    with pytest.raises(grpc.RpcError) as e:
        pb_grpc.RecommendationServiceStub(grpc.secure_channel(f"127.0.0.1:{service.port}", rogue)).RecordPurchase(
            req, metadata=[("authorization", f"Bearer {token}")], timeout=3
        )
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    # Plaintext (no certificate at all) never reaches a handler either.
    with pytest.raises(grpc.RpcError) as e:
        pb_grpc.RecommendationServiceStub(grpc.insecure_channel(f"127.0.0.1:{service.port}")).ListRecommendations(
            pb.ListRecommendationsRequest(), timeout=3
        )
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_catalog_down_is_unavailable_fast_and_opens_the_breaker(certs, redis_url, signer) -> None:  # type: ignore[no-untyped-def]
    running = start_server(config(certs, redis_url, f"127.0.0.1:{free_port()}"))
    try:
        s = stub(certs, running.port)
        times = []
        for _ in range(6):
            start = time.monotonic()
            with pytest.raises(grpc.RpcError) as e:
                s.ListRecommendations(pb.ListRecommendationsRequest(), timeout=3)
            times.append(time.monotonic() - start)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert max(times) < 2.0, times
        assert "circuit open" in e.value.details()
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{running.admin_port}/metrics", timeout=5).read().decode()
        assert 'circuit_breaker_state{upstream="catalog"} 2.0' in metrics
        assert f'grpc_server_handled_total{{grpc_code="UNAVAILABLE",grpc_method="ListRecommendations",grpc_service="{SERVICE}",grpc_type="unary"}} 6.0' in metrics
    finally:
        running.stop(0)


def test_slow_catalog_is_bounded_by_the_callers_deadline(certs, service, catalog) -> None:  # type: ignore[no-untyped-def]
    catalog.fake.delay_s = 2.0
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        stub(certs, service.port).ListRecommendations(pb.ListRecommendationsRequest(), timeout=0.5)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 1.5


UPSTREAM_SECRET = "upstream-secret: mongodb://admin:hunter2@10.9.8.7"


@pytest.mark.parametrize(("upstream", "code", "message"), [
    # catalog is unwell: the caller learns that, in recommendation's words.
    (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, "catalog unavailable (internal)"),
    (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE, "catalog unavailable (unavailable)"),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE, "catalog unavailable (resource_exhausted)"),
    # catalog refused recommendation's own request: a bug on one side, not the caller's to fix.
    (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INTERNAL, "internal error"),
    (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL, "internal error"),
])
def test_catalog_errors_reach_the_caller_in_recommendations_words_only(certs, service, catalog, upstream, code, message) -> None:  # type: ignore[no-untyped-def]
    # The recommendation -> catalog boundary (docs/architecture.md, "The error map"): catalog's
    # message and trailers stay with recommendation; only the kind of failure crosses.
    catalog.fake.fail, catalog.fake.fail_message = upstream, UPSTREAM_SECRET
    with pytest.raises(grpc.RpcError) as e:
        stub(certs, service.port).ListRecommendations(pb.ListRecommendationsRequest(), timeout=5)
    assert catalog.fake.calls >= 1
    assert (e.value.code(), e.value.details()) == (code, message)
    trailers = [f"{k}: {v!r}" for k, v in e.value.trailing_metadata() or ()]
    assert not [t for t in trailers if "upstream-secret" in t or "x-upstream-debug" in t], trailers


def test_health_and_graceful_stop(certs, redis_url, catalog) -> None:  # type: ignore[no-untyped-def]
    running = start_server(config(certs, redis_url, catalog.addr))
    ch = channel(certs, running.port)
    h = health_pb2_grpc.HealthStub(ch)
    for name in ("", SERVICE):
        assert h.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    assert urllib.request.urlopen(f"http://127.0.0.1:{running.admin_port}/healthz", timeout=5).status == 200
    running.health.enter_graceful_shutdown()
    assert h.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status == health_pb2.HealthCheckResponse.NOT_SERVING
    running.stop(0.5)
    with pytest.raises(grpc.RpcError):
        h.Check(health_pb2.HealthCheckRequest(), timeout=2)


@pytest.mark.parametrize("version", ["v1alpha", "v1"])
def test_reflection_lists_and_describes_services(certs, service, version) -> None:  # type: ignore[no-untyped-def]
    ch = channel(certs, service.port)
    method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    call = ch.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    reqs = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE),
    ]
    listed, described = list(call(iter(reqs), timeout=5))
    names = {s.name for s in listed.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} <= names
    files = described.file_descriptor_response.file_descriptor_proto
    assert any(b"shop/recommendation/v1/recommendation.proto" in f for f in files)


def test_store_down_still_recommends_from_the_catalog(certs, catalog) -> None:  # type: ignore[no-untyped-def]
    cfg = config(certs, f"redis://127.0.0.1:{free_port()}/0", catalog.addr)
    running = start_server(cfg, store=RedisCountStore(cfg.redis_url, timeout_s=0.3))
    try:
        res = stub(certs, running.port).ListRecommendations(pb.ListRecommendationsRequest(max_results=2), timeout=5)
        assert [r.product_id for r in res.recommendations] == ["p1", "p2"]
    finally:
        running.stop(0)


def test_reflection_resolves_the_error_detail_types(certs, service) -> None:  # type: ignore[no-untyped-def]
    # grpcurl resolves the Any in grpc-status-details-bin through reflection to print it by name.
    ch = channel(certs, service.port)
    call = ch.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    reqs = [reflection_pb2.ServerReflectionRequest(file_containing_symbol="google.rpc.BadRequest")]
    (res,) = list(call(iter(reqs), timeout=5))
    assert res.WhichOneof("message_response") == "file_descriptor_response", res.error_response.error_message
    files = res.file_descriptor_response.file_descriptor_proto
    assert any(b"google/rpc/error_details.proto" in f for f in files)


def purchase(certs: Path, port: int, token: str, timeout: float = 10) -> grpc.StatusCode:
    """RecordPurchase as order calls it; the status code it ends with."""
    req = pb.RecordPurchaseRequest(order_id=f"o-{time.monotonic_ns()}", items=[pb.PurchasedItem(product_id="p1", quantity=1)])
    try:
        stub(certs, port, "order").RecordPurchase(req, metadata=[("authorization", f"Bearer {token}")], timeout=timeout)
    except grpc.RpcError as e:
        return e.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_issuer_and_audience_come_from_the_runners_variables(certs, redis_url, catalog, signer, jwks_http) -> None:  # type: ignore[no-untyped-def]
    # runner/src/plan.ts passes JWKS_URL, JWT_ISSUER and JWT_AUDIENCE to every service, as mesh/src/config.ts reads them.
    cfg = config(certs, redis_url, catalog.addr, JWKS_URL=jwks_http.url, JWT_ISSUER="shopmesh-auth", JWT_AUDIENCE="shopmesh")
    running = start_server(cfg)
    try:
        def token(iss: str, aud: str) -> str:
            return signer.sign({"sub": "u1", "iss": iss, "aud": aud, "exp": time.time() + 60})
        assert purchase(certs, running.port, token("shopmesh-auth", "shopmesh")) == grpc.StatusCode.OK
        assert purchase(certs, running.port, token("shopmesh-auth", "another-app")) == grpc.StatusCode.UNAUTHENTICATED
        assert purchase(certs, running.port, token("someone-else", "shopmesh")) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        running.stop(0)


def test_auth_hanging_makes_token_calls_fail_fast_not_queue(certs, redis_url, catalog, signer) -> None:  # type: ignore[no-untyped-def]
    # auth's JWKS endpoint accepts connections and never answers. N concurrent calls with tokens must
    # not take N x the 2 s fetch timeout: at most one waits for it, the others answer UNAVAILABLE at once.
    hanging = JwksHttp(signer.jwks())
    hanging.mode = "hang"
    running = start_server(config(certs, redis_url, catalog.addr, JWKS_URL=hanging.url))
    try:
        n = 8
        codes: list[grpc.StatusCode] = []
        took: list[float] = []

        def one(i: int) -> None:
            start = time.monotonic()
            codes.append(purchase(certs, running.port, signer.sign({"sub": f"u{i}", "exp": time.time() + 60}), timeout=30))
            took.append(time.monotonic() - start)

        start = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        total = time.monotonic() - start
        assert codes == [grpc.StatusCode.UNAVAILABLE] * n, codes
        assert total < 4.0, (total, sorted(took))
        # And now, in the cooldown, every call fails fast.
        start = time.monotonic()
        assert purchase(certs, running.port, signer.sign({"sub": "u1", "exp": time.time() + 60})) == grpc.StatusCode.UNAVAILABLE
        assert time.monotonic() - start < 0.5
    finally:
        running.stop(0)
        hanging.close()


def test_istio_mode_names_catalog_by_its_cluster_name_for_the_sidecar(certs, redis_url) -> None:  # type: ignore[no-untyped-def]
    # On one machine CATALOG_ADDR is the sidecar's egress IP, which no virtual host matches.
    istio = config(certs, redis_url, "127.0.2.7:50052", MESH_MODE="istio")
    assert istio.catalog_authority == "catalog.shop.svc.cluster.local:50052"
    chosen = config(certs, redis_url, "127.0.2.7:50052", MESH_MODE="istio", CATALOG_AUTHORITY="catalog:50052")
    assert chosen.catalog_authority == "catalog:50052"
    # Locally the channel is mTLS to the address itself, checked against CATALOG_TLS_NAME.
    assert config(certs, redis_url, "127.0.0.1:50052").catalog_authority == ""
