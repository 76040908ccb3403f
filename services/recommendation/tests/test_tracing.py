"""Tracing (recommendation/tracing.py): the OTEL_* settings, off by default with no SDK loaded, the
ids every call's log lines carry and its catalog calls send, and, on, the spans as the real Zipkin
server (.bin/zipkin.jar, tools/setup.sh observe) stores them."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import grpc
import pytest
import redis

from conftest import CatalogServer, JwtSigner, free_port
from recommendation.config import REPO_ROOT, ConfigError, load_config
from recommendation.jwt import JwksVerifier
from recommendation.logs import JsonFormatter
from recommendation.server import RunningServer, start_server
from recommendation.tracing import parse_traceparent, tracing_config
from shop.recommendation.v1 import recommendation_pb2 as pb
from test_server import config, stub

ZIPKIN_JAR = REPO_ROOT / ".bin" / "zipkin.jar"
SERVICE = "shop.recommendation.v1.RecommendationService"
CATALOG = "shop.catalog.v2.CatalogService"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


# --- the settings ---------------------------------------------------------------------------------

def test_off_unless_an_exporter_or_an_endpoint_is_set() -> None:
    assert tracing_config({}) is None
    # Empty values count as unset (istio/base/config.yaml sets the endpoint to "").
    assert tracing_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_TRACES_EXPORTER": " "}) is None
    assert tracing_config({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) is None
    assert tracing_config({"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_SDK_DISABLED": "TRUE"}) is None


def test_the_standard_settings_are_read() -> None:
    otlp = tracing_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "MESH_INSTANCE": "recommendation-2"})
    assert otlp is not None
    assert (otlp.exporter, otlp.endpoint, otlp.sampler, otlp.ratio) == ("otlp", "http://collector:4318/v1/traces", "parentbased_always_on", 1.0)
    assert (otlp.service_name, otlp.instance) == ("recommendation", "recommendation-2")
    zipkin = tracing_config({"OTEL_TRACES_EXPORTER": "Zipkin", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                             "OTEL_TRACES_SAMPLER_ARG": "0.1", "OTEL_SERVICE_NAME": "reco"})
    assert zipkin is not None
    assert (zipkin.exporter, zipkin.endpoint, zipkin.sampler, zipkin.ratio, zipkin.service_name) == (
        "zipkin", "http://localhost:9411/api/v2/spans", "parentbased_traceidratio", 0.1, "reco")
    traces = tracing_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/t"})
    assert traces is not None and traces.endpoint == "http://b:4318/t"


@pytest.mark.parametrize("env, named", [
    ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "http/protobuf"),
    ({"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"),
    ({"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG"),
    ({"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG"),
    ({"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_EXPORTER_ZIPKIN_ENDPOINT": "zipkin:9411"}, "OTEL_EXPORTER_ZIPKIN_ENDPOINT"),
])
def test_a_bad_value_stops_the_start(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        tracing_config(env)
    # load_config refuses it with the rest of the configuration (__main__ exits 2).
    with pytest.raises(ConfigError, match=named):
        load_config({"MESH_MODE": "istio", **env})


def test_traceparent_parsing_follows_the_w3c_rules() -> None:
    assert parse_traceparent(f"00-{TRACE_ID}-{PARENT_ID}-01") == (TRACE_ID, PARENT_ID, "01")
    assert parse_traceparent(f"01-{TRACE_ID}-{PARENT_ID}-00-more") == (TRACE_ID, PARENT_ID, "00")  # a later version
    for bad in (None, "", f"00-{TRACE_ID}-{PARENT_ID}-01-more", f"ff-{TRACE_ID}-{PARENT_ID}-01",
                f"00-{'0' * 32}-{PARENT_ID}-01", f"00-{TRACE_ID}-{'0' * 16}-01", f"00-{TRACE_ID.upper()}-{PARENT_ID}-01"):
        assert parse_traceparent(bad) is None, bad


# What only tracing on loads: the trace SDK, its exporters (and requests, theirs), tracing_sdk.py.
# redis-py 8 itself imports opentelemetry's API and sdk.metrics when they are installed (its own
# metrics, off unless configured), so those are not on the list.
TRACING_ONLY = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "requests", "recommendation.tracing_sdk")


def test_with_tracing_off_the_sdk_is_never_imported() -> None:
    # A fresh interpreter: the server's modules loaded and a call's ids made, as a process without
    # any OTEL_* setting does; then the same with tracing on, so the check can fail.
    code = (
        "import sys, recommendation.server as s, recommendation.__main__\n"
        "from recommendation.config import load_config\n"
        "cfg = load_config({'MESH_MODE': 'istio', 'OTEL_TRACES_EXPORTER': sys.argv[1]})\n"
        "t = s.make_tracing(cfg.tracing, '127.0.0.1', 1)\n"
        "t.server_start('svc', 'M', None); t.client_call('svc', 'M', 'h:1')\n"
        f"print(sorted(m for m in sys.modules if m.startswith({TRACING_ONLY!r})))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    def loaded(exporter: str) -> str:
        return subprocess.run([sys.executable, "-c", code, exporter], cwd=Path(__file__).parents[1], env=env,
                              capture_output=True, text=True, timeout=60, check=True).stdout.strip()

    assert loaded("none") == "[]"
    assert "'opentelemetry.sdk.trace'" in loaded("zipkin")


# --- ids in logs and on catalog calls -------------------------------------------------------------

@pytest.fixture
def json_log() -> Iterator[Callable[[], list[dict]]]:  # type: ignore[type-arg]
    """What the service logs, as the JSON lines __main__ writes."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    # On the root, as setup_logging puts it, so the SDK's own lines come too.
    root, log = logging.getLogger(), logging.getLogger("recommendation")
    level = log.level
    log.setLevel(logging.INFO)
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in buf.getvalue().splitlines()]
    root.removeHandler(handler)
    log.setLevel(level)


def start(certs: Path, redis_url: str, catalog: CatalogServer, signer: JwtSigner, **env: str) -> RunningServer:
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    r.close()
    jwks = signer.jwks()
    return start_server(config(certs, redis_url, catalog.addr, **env),
                        verifier=JwksVerifier("http://unused", fetch=lambda _u: jwks))


def record(certs: Path, port: int, signer: JwtSigner, traceparent: str | None) -> None:
    token = signer.sign({"sub": "u1", "exp": time.time() + 60})
    md = [("authorization", f"Bearer {token}")] + ([("traceparent", traceparent)] if traceparent else [])
    stub(certs, port, "order").RecordPurchase(
        pb.RecordPurchaseRequest(order_id="o1", items=[pb.PurchasedItem(product_id="p2", quantity=3)]), metadata=md, timeout=5)


def test_tracing_off_every_log_line_of_a_call_has_its_ids_and_catalog_gets_a_child_span_id(
    certs, redis_url, catalog, signer, json_log,  # type: ignore[no-untyped-def]
) -> None:
    service = start(certs, redis_url, catalog, signer)
    try:
        record(certs, service.port, signer, f"00-{TRACE_ID}-{PARENT_ID}-01")
        record(certs, service.port, signer, None)  # no traceparent: the call starts a trace
        stub(certs, service.port).ListRecommendations(pb.ListRecommendationsRequest(max_results=2), timeout=5,
                                                      metadata=[("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-00")])
    finally:
        service.stop(0)
    lines = [line for line in json_log() if line["msg"].startswith("purchase")]
    assert len(lines) == 2
    assert lines[0]["trace_id"] == TRACE_ID
    assert lines[1]["trace_id"] != TRACE_ID and len(lines[1]["trace_id"]) == 32
    assert len({line["span_id"] for line in lines} | {PARENT_ID}) == 3  # a span id per call, not the caller's
    # Each catalog call sends the same trace with a span id of its own, and the caller's flags.
    sent = [parse_traceparent(tp) for tp in catalog.fake.traceparents]
    assert sent and all(p is not None and p[0] == TRACE_ID and p[1] != PARENT_ID and p[2] == "00" for p in sent)
    # Lines outside a call carry none.
    assert "trace_id" not in next(line for line in json_log() if line["msg"] == "serving")


def test_with_no_trace_backend_calls_are_served_and_a_failed_export_is_one_line(
    certs, redis_url, catalog, signer, json_log,  # type: ignore[no-untyped-def]
) -> None:
    service = start(certs, redis_url, catalog, signer, OTEL_TRACES_EXPORTER="zipkin",
                    OTEL_EXPORTER_ZIPKIN_ENDPOINT=f"http://127.0.0.1:{free_port()}/api/v2/spans")
    try:
        res = stub(certs, service.port).ListRecommendations(pb.ListRecommendationsRequest(max_results=2), timeout=5)
        assert len(res.recommendations) == 2
    finally:
        started = time.monotonic()
        service.stop(0)  # the flush tries the export, which fails
        assert time.monotonic() - started < 5
    failed = [line for line in json_log() if line["name"].startswith("opentelemetry")]
    assert failed and all("Traceback" not in line.get("err", "") for line in failed), failed
    assert "ConnectionError" in failed[0]["err"]


# --- spans in the real Zipkin ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def zipkin() -> Iterator[str]:
    """The real Zipkin server on a free port; its base URL once /health answers."""
    if not ZIPKIN_JAR.is_file():
        pytest.fail(f"{ZIPKIN_JAR} is missing: run bash tools/setup.sh observe (make setup does)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # QUERY_PORT is Zipkin's port setting; a small heap and the JIT's quick tier start it sooner.
    proc = subprocess.Popen(["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", str(ZIPKIN_JAR)],
                            env={**os.environ, "QUERY_PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"zipkin did not become healthy on {url}")
            time.sleep(0.25)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


def trace_of(zipkin_url: str, trace_id: str, count: int) -> list[dict]:  # type: ignore[type-arg]
    """The trace's spans once Zipkin holds at least `count` (it ingests asynchronously)."""
    end = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"{zipkin_url}/api/v2/trace/{trace_id}", timeout=2) as r:
                spans = json.loads(r.read())
        except OSError:
            spans = []
        if len(spans) >= count or time.monotonic() > end:
            return spans
        time.sleep(0.1)


def assert_tags(span: dict, expected: dict[str, str]) -> None:  # type: ignore[type-arg]
    tags = span.get("tags", {})
    assert {k: tags.get(k) for k in expected} == expected, json.dumps(span, indent=1)


def one(spans: list[dict], what: str, pred: Callable[[dict], bool]) -> dict:  # type: ignore[type-arg]
    found = [s for s in spans if pred(s)]
    assert len(found) == 1, f"expected one {what}, found {len(found)} in {json.dumps(spans, indent=1)}"
    return found[0]


def test_a_served_call_is_a_server_span_under_the_callers_traceparent_with_its_catalog_and_redis_spans(
    certs, redis_url, catalog, signer, zipkin,  # type: ignore[no-untyped-def]
) -> None:
    service = start(certs, redis_url, catalog, signer, OTEL_TRACES_EXPORTER="zipkin",
                    OTEL_EXPORTER_ZIPKIN_ENDPOINT=f"{zipkin}/api/v2/spans", OTEL_SERVICE_NAME="reco-test")
    try:
        # Nothing recorded yet: the list is the catalog's first page, then each product's details.
        res = stub(certs, service.port).ListRecommendations(
            pb.ListRecommendationsRequest(max_results=2, exclude_product_ids=["p1"]), timeout=5,
            metadata=[("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01")])
        assert [r.product_id for r in res.recommendations] == ["p2", "p3"]
    finally:
        service.stop(0)  # flushes the batch
    spans = trace_of(zipkin, TRACE_ID, 3)

    server = one(spans, "server span", lambda s: s.get("kind") == "SERVER")
    client = one(spans, "catalog client span", lambda s: s.get("kind") == "CLIENT" and "rpc.method" in s.get("tags", {}))
    zrevrange = one(spans, "Redis span", lambda s: s.get("tags", {}).get("db.system") == "redis")

    # The caller's traceparent is the server span's remote parent; the rest hang below it.
    assert {s["traceId"] for s in spans} == {TRACE_ID}
    assert server["parentId"] == PARENT_ID
    assert client["parentId"] == server["id"] and zrevrange["parentId"] == server["id"]
    assert server["name"] == f"{SERVICE}/ListRecommendations".lower()  # Zipkin lower-cases names
    assert server["localEndpoint"]["serviceName"] == "reco-test"
    assert_tags(server, {
        "rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": "ListRecommendations", "rpc.grpc.status_code": "0",
        "server.address": "127.0.0.1", "server.port": str(service.port), "shop.caller": "edge",
    })
    host, port = catalog.addr.rsplit(":", 1)
    assert_tags(client, {
        "rpc.system": "grpc", "rpc.service": CATALOG, "rpc.method": "ListProducts", "rpc.grpc.status_code": "0",
        "server.address": host, "server.port": port, "shop.rpc.attempts": "1", "shop.breaker.state": "closed",
    })
    assert_tags(zrevrange, {"db.operation.name": "ZREVRANGE", "server.address": "127.0.0.1"})
    assert "reco:counts" not in json.dumps(spans)  # no Redis key in a span
    # The catalog call sent the client span's own id, so catalog's server span is its child.
    assert catalog.fake.traceparents == [f"00-{TRACE_ID}-{client['id']}-01"]


def test_a_failed_and_a_refused_catalog_call_are_error_spans(
    certs, redis_url, catalog, signer, zipkin, json_log,  # type: ignore[no-untyped-def]
) -> None:
    service = start(certs, redis_url, catalog, signer, OTEL_TRACES_EXPORTER="zipkin",
                    OTEL_EXPORTER_ZIPKIN_ENDPOINT=f"{zipkin}/api/v2/spans")
    catalog.fake.fail = grpc.StatusCode.UNAVAILABLE
    failed, refused = "ab" * 16, "cd" * 16
    try:
        # Two attempts per call (local mode retries once): the third call's first failure is the
        # fifth in a row, which opens the breaker; the fourth call is refused without an attempt.
        for trace_id in (failed, None, None, refused):
            with pytest.raises(grpc.RpcError) as e:
                md = [("traceparent", f"00-{trace_id}-{PARENT_ID}-01")] if trace_id else []
                stub(certs, service.port).ListRecommendations(pb.ListRecommendationsRequest(max_results=2), timeout=5, metadata=md)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        service.stop(0)
    unavailable = str(grpc.StatusCode.UNAVAILABLE.value[0])

    spans = trace_of(zipkin, failed, 3)
    server = one(spans, "server span", lambda s: s.get("kind") == "SERVER")
    client = one(spans, "catalog client span", lambda s: s.get("kind") == "CLIENT" and "rpc.method" in s.get("tags", {}))
    # Both attempts under one client span, the second as a retry event.
    assert_tags(client, {"shop.rpc.attempts": "2", "shop.breaker.state": "closed", "rpc.grpc.status_code": unavailable,
                         "otel.status_code": "ERROR", "error": "catalog unavailable (unavailable)"})
    # The Zipkin JSON exporter writes an event with attributes as a JSON annotation.
    assert [json.loads(a["value"]) for a in client.get("annotations", [])] == [{"retry": {"shop.rpc.attempt": 2}}]
    assert_tags(server, {"rpc.grpc.status_code": unavailable, "otel.status_code": "ERROR", "error": "catalog unavailable (unavailable)"})
    # The warning the call logged names the server span.
    warning = next(line for line in json_log() if line["msg"].startswith("ListRecommendations failed"))
    assert (warning["trace_id"], warning["span_id"]) == (failed, server["id"])

    spans = trace_of(zipkin, refused, 3)
    client = one(spans, "refused client span", lambda s: s.get("kind") == "CLIENT" and "rpc.method" in s.get("tags", {}))
    assert_tags(client, {"shop.rpc.attempts": "0", "shop.breaker.state": "open", "rpc.grpc.status_code": unavailable,
                         "error": "catalog unavailable (circuit open)"})
