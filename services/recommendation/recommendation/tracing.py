"""Tracing (docs/architecture.md, "Tracing"): the trace ids of every call served, which its log
lines carry and its catalog calls send on, and, when an OTEL_* setting turns tracing on,
OpenTelemetry spans: SERVER per call, CLIENT per catalog call, one per Redis command.

The settings and their rules are mesh/src/tracing.ts's, so both languages are configured alike.
Off unless configured: then the SDK is never imported (tracing_sdk.py; importing it costs about
160 ms) and a call costs a parse of its traceparent and two random ids.
"""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # logs.py imports this module before logging is set up; grpc waits for server.py
    import grpc

EXPORTERS = ("otlp", "zipkin", "console")
SAMPLERS = (
    "always_on", "always_off", "traceidratio",
    "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
)


@dataclass(frozen=True)
class TracingConfig:
    """Tracing as the environment configures it."""

    exporter: str  # otlp | zipkin | console
    endpoint: str | None  # OTLP's /v1/traces or Zipkin's /api/v2/spans; None for console
    sampler: str
    ratio: float  # of the traceidratio samplers, in [0, 1]
    service_name: str
    instance: str | None  # MESH_INSTANCE, the replica, as service.instance.id


def tracing_config(env: Mapping[str, str]) -> TracingConfig | None:
    """OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP(_TRACES)_ENDPOINT and _PROTOCOL,
    OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTEL_TRACES_SAMPLER(_ARG) and OTEL_SERVICE_NAME; None is off.

    Empty values count as unset (istio/base/config.yaml sets the endpoint to ""), and no exporter
    with no endpoint is off, not the spec's OTLP to localhost, as in mesh/src/tracing.ts. Raises
    ValueError on a value it does not know, so a typo fails the start instead of losing traces.
    """

    def get(k: str) -> str | None:
        return (env.get(k) or "").strip() or None

    if (get("OTEL_SDK_DISABLED") or "").lower() == "true":
        return None
    base = get("OTEL_EXPORTER_OTLP_ENDPOINT")
    otlp_url = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (base and base.rstrip("/") + "/v1/traces")
    named = (get("OTEL_TRACES_EXPORTER") or "").lower() or None
    exporter = named or ("otlp" if otlp_url else "none")
    if exporter == "none":
        return None
    if exporter not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER: {named!r} is not one of otlp, zipkin, console, none")
    protocol = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if exporter == "otlp" and protocol != "http/protobuf":
        raise ValueError(f"OTLP protocol {protocol!r} is not supported; use http/protobuf (a collector's port 4318)")
    endpoint = None
    if exporter == "otlp":
        endpoint = otlp_url or "http://localhost:4318/v1/traces"
    elif exporter == "zipkin":
        endpoint = get("OTEL_EXPORTER_ZIPKIN_ENDPOINT") or "http://localhost:9411/api/v2/spans"
    if endpoint is not None and not re.match(r"^https?://[^/\s]+", endpoint):
        where = "OTEL_EXPORTER_ZIPKIN_ENDPOINT" if exporter == "zipkin" else "OTEL_EXPORTER_OTLP(_TRACES)_ENDPOINT"
        raise ValueError(f"{where}: {endpoint!r} is not an http or https URL")
    sampler = (get("OTEL_TRACES_SAMPLER") or "parentbased_always_on").lower()
    if sampler not in SAMPLERS:
        raise ValueError(f"OTEL_TRACES_SAMPLER: {sampler!r} is not one of {', '.join(SAMPLERS)}")
    arg = get("OTEL_TRACES_SAMPLER_ARG")
    try:
        ratio = 1.0 if arg is None else float(arg)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG: {arg!r} is not a ratio in [0, 1]")
    return TracingConfig(
        exporter=exporter, endpoint=endpoint, sampler=sampler, ratio=ratio,
        service_name=get("OTEL_SERVICE_NAME") or get("MESH_SERVICE_NAME") or "recommendation",
        instance=get("MESH_INSTANCE"),
    )


@dataclass
class CallTrace:
    """The call being served: the ids its log lines carry, and its SERVER span when tracing is on."""

    trace_id: str
    span_id: str
    flags: str  # "01" sampled
    span: Any = None


# Set for the duration of a call by server.py, on the worker thread that runs it.
current_call: contextvars.ContextVar[CallTrace | None] = contextvars.ContextVar("current_call", default=None)

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def parse_traceparent(header: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent span id, flags) of a W3C traceparent; None when absent or invalid, as
    parseTraceparent in mesh/src/trace.ts (then the call starts a trace)."""
    m = _TRACEPARENT.match(header.strip()) if header else None
    if m is None:
        return None
    version, trace_id, parent_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id, parent_id, flags


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


class ClientCall:
    """One outbound catalog call: the traceparent it sends and, with tracing on, its CLIENT span."""

    def __init__(self, traceparent: str | None) -> None:
        self.traceparent = traceparent
        self.answered: grpc.StatusCode | None = None  # the code catalog last answered with

    def attempt(self, breaker_state: str) -> None:
        """An attempt goes out, let through by a breaker in this state."""

    def refused(self, breaker_state: str) -> None:
        """The breaker refused the call: no attempt."""

    def end(self, code: grpc.StatusCode, message: str = "") -> None:
        """The call's outcome, as the caller saw it."""


class Tracing:
    """Tracing off: the ids for logs and propagation only, as mesh's own trace.ts does without the SDK."""

    enabled = False

    def server_start(self, service: str, method: str, traceparent: str | None) -> CallTrace:
        """The call's ids: the caller's trace (else a new one) and a span id of its own."""
        parent = parse_traceparent(traceparent)
        if parent is None:
            return CallTrace(new_trace_id(), new_span_id(), "01")
        return CallTrace(parent[0], new_span_id(), parent[2])

    def server_end(self, call: CallTrace, code: grpc.StatusCode, message: str, caller: str | None) -> None:
        """Ends the call's span (`message`: what the client was told)."""

    def client_call(self, service: str, method: str, target: str) -> ClientCall:
        """An outbound call to `target` inside the current call sends a child span id of the same trace."""
        call = current_call.get()
        return ClientCall(None if call is None else f"00-{call.trace_id}-{new_span_id()}-{call.flags}")

    def trace_redis(self, client: Any) -> None:
        """Makes a span of every command of a redis-py client (a no-op when off)."""

    def shutdown(self) -> None:
        """Exports what is left (the server's stop calls it)."""


def server_attributes(target: str) -> dict[str, str | int]:
    """server.address and server.port of "host:port" (or "ipv4:host:port"); a list of several
    endpoints is named whole, as grpcio does not say which one an attempt went to."""
    m = re.match(r"^(?:[a-z0-9]+:)?\[?([^\],]*?)\]?:(\d+)$", target)
    return {"server.address": m.group(1), "server.port": int(m.group(2))} if m else {"server.address": target}


def make_tracing(cfg: TracingConfig | None, host: str, port: int) -> Tracing:
    """Tracing for a server listening on host:port; the SDK is imported only when cfg turns it on."""
    if cfg is None:
        return Tracing()
    from .tracing_sdk import SdkTracing

    return SdkTracing(cfg, host, port)
