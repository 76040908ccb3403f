"""Tracing on: the OpenTelemetry SDK behind tracing.py's hooks. Imported only by make_tracing when
an OTEL_* setting turns tracing on (docs/architecture.md, "Tracing").

Spans follow the ones mesh/src/tracing.ts makes, so a trace reads the same across languages: names
`<service>/<method>`, the RPC conventions (rpc.system, rpc.service, rpc.method,
rpc.grpc.status_code, server.address, server.port), and the mesh's own shop.caller,
shop.rpc.attempts and shop.breaker.state. Parents are passed explicitly from the call being served
(tracing.current_call), never through OpenTelemetry's context, as in mesh/.
"""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from .tracing import CallTrace, ClientCall, Tracing, TracingConfig, current_call, parse_traceparent, server_attributes

# Server spans that are errors, as OpenTelemetry's gRPC conventions say: the server failed, not the
# caller (the same set as serverErrors in mesh/src/tracing.ts).
_SERVER_ERRORS = {
    grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
}


def _sampler(cfg: TracingConfig) -> Sampler:
    ratio = TraceIdRatioBased(cfg.ratio)
    return {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": ratio,
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(ratio),
    }[cfg.sampler]


def _exporter(cfg: TracingConfig) -> SpanExporter:
    if cfg.exporter == "zipkin":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        return ZipkinExporter(endpoint=cfg.endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=cfg.endpoint)


def _traceparent(span: Span) -> str:
    sc = span.get_span_context()
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{'01' if sc.trace_flags.sampled else '00'}"


def _parent(span: Span | None) -> Any:
    return None if span is None else set_span_in_context(span)


class _SdkClientCall(ClientCall):
    """A CLIENT span; its id is the traceparent sent, so catalog's server spans are its children."""

    def __init__(self, span: Span, attributes: dict[str, str | int]) -> None:
        super().__init__(_traceparent(span))
        self._span = span
        self._attributes = attributes
        self._attempts = 0
        self._breaker: str | None = None

    def attempt(self, breaker_state: str) -> None:
        self._attempts += 1
        self._breaker = breaker_state
        if self._attempts > 1:
            self._span.add_event("retry", {"shop.rpc.attempt": self._attempts})

    def refused(self, breaker_state: str) -> None:
        self._breaker = breaker_state

    def end(self, code: grpc.StatusCode, message: str = "") -> None:
        span = self._span
        if not span.is_recording():
            return
        span.set_attributes(self._attributes)
        if self._breaker is not None:
            span.set_attribute("shop.breaker.state", self._breaker)
        span.set_attribute("shop.rpc.attempts", self._attempts)
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code != grpc.StatusCode.OK:
            span.set_status(Status(StatusCode.ERROR, message))
        span.end()


class SdkTracing(Tracing):
    """Spans through one TracerProvider of this server's own (tests run several servers per process)."""

    enabled = True

    def __init__(self, cfg: TracingConfig, host: str, port: int) -> None:
        attrs: dict[str, str] = {"service.name": cfg.service_name}
        if cfg.instance:
            attrs["service.instance.id"] = cfg.instance
        # Resource.create adds OTEL_RESOURCE_ATTRIBUTES from the environment.
        self._provider = TracerProvider(sampler=_sampler(cfg), resource=Resource.create(attrs), shutdown_on_exit=False)
        if cfg.exporter == "console":
            self._provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            # Batched (OTEL_BSP_* tune it): a span costs the call an enqueue, the export is another thread's.
            self._provider.add_span_processor(BatchSpanProcessor(_exporter(cfg)))
        self._tracer = self._provider.get_tracer("recommendation")
        self._where: dict[str, str | int] = {"server.address": host, "server.port": port}

    def server_start(self, service: str, method: str, traceparent: str | None) -> CallTrace:
        parent = parse_traceparent(traceparent)
        ctx = None
        if parent is not None:
            trace_id, parent_id, flags = parent
            remote = SpanContext(int(trace_id, 16), int(parent_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16) & 1))
            ctx = set_span_in_context(NonRecordingSpan(remote))
        span = self._tracer.start_span(f"{service}/{method}", context=ctx, kind=SpanKind.SERVER, attributes={
            "rpc.system": "grpc", "rpc.service": service, "rpc.method": method, **self._where,
        })
        # The call takes the span's ids, so its log lines and outbound traceparents name this span.
        sc = span.get_span_context()
        return CallTrace(f"{sc.trace_id:032x}", f"{sc.span_id:016x}", "01" if sc.trace_flags.sampled else "00", span)

    def server_end(self, call: CallTrace, code: grpc.StatusCode, message: str, caller: str | None) -> None:
        span: Span = call.span or INVALID_SPAN
        if not span.is_recording():
            return
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if caller:
            span.set_attribute("shop.caller", caller)
        if code in _SERVER_ERRORS:
            span.set_status(Status(StatusCode.ERROR, message))
        span.end()

    def client_call(self, service: str, method: str, target: str) -> ClientCall:
        call = current_call.get()
        span = self._tracer.start_span(f"{service}/{method}", context=_parent(call and call.span), kind=SpanKind.CLIENT,
                                       attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method})
        return _SdkClientCall(span, server_attributes(target))

    def trace_redis(self, client: Any) -> None:
        """Wraps the client's execute_command, which every command and script call goes through.
        Only inside a call (no span for pool or health-check noise); the span names the command,
        never its keys or values."""
        kw = client.connection_pool.connection_kwargs
        where = {"server.address": kw.get("host", "localhost"), "server.port": int(kw.get("port", 6379))}
        send = client.execute_command
        tracer = self._tracer

        def execute_command(*args: Any, **options: Any) -> Any:
            call = current_call.get()
            if call is None or call.span is None:
                return send(*args, **options)
            name = (args[0].decode() if isinstance(args[0], bytes) else str(args[0])).upper()
            span = tracer.start_span(name, context=set_span_in_context(call.span), kind=SpanKind.CLIENT,
                                     attributes={"db.system": "redis", "db.operation.name": name, **where})
            try:
                out = send(*args, **options)
            except BaseException as e:
                # The class only: a Redis error message can quote a key.
                span.set_status(Status(StatusCode.ERROR, type(e).__name__))
                span.end()
                raise
            span.end()
            return out

        client.execute_command = execute_command

    def shutdown(self) -> None:
        # Bounded, so a trace backend that is down does not hold the stop up. Not the provider's
        # shutdown(): it waits up to 30 s for an export stuck on a dead backend; the exporting
        # thread is a daemon and ends with the process.
        self._provider.force_flush(timeout_millis=2000)

