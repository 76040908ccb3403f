// Tracing (docs/architecture.md, "Tracing"): OpenTelemetry spans for every RPC a process serves
// and sends, and for the Mongo and Redis commands made inside them, parented by the W3C context the
// mesh already propagates (trace.ts). Configured by the standard OTEL_* variables only, so one build
// exports OTLP to a cluster's collector or Zipkin JSON straight to Zipkin here; this and config.ts
// are the only parts of mesh/ that read the environment. Off unless something is configured: then
// the SDK is never loaded (it costs about 100 ms and 14 MB at import) and each hook in serve(),
// the client, connectMongo() and openRedis() is one check of an undefined value.
//
// The hooks: serve() calls serverTracing() and, per call, start() and end(); createClient() adds
// clientTracing()'s two interceptors; connectMongo() and openRedis() call traceMongo() and
// traceRedis() (services with a client of their own call them too).
import type { Span, SpanOptions, Tracer } from "@opentelemetry/api";
import type { MongoClient } from "mongodb";
import type { Redis } from "ioredis";
import { Code, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { Breaker, BreakerState } from "./breaker.js";
import { afterCall } from "./call-end.js";
import { inboundCall, type InboundCall } from "./context.js";
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type TraceParent } from "./trace.js";
import { endpointKey } from "./transport.js";

/** Where spans go: OTLP/HTTP protobuf (a collector), Zipkin's JSON v2 API, or stdout (debugging). */
export type TraceExporterKind = "otlp" | "zipkin" | "console";
/** The samplers of OTEL_TRACES_SAMPLER. */
export type SamplerKind = "always_on" | "always_off" | "traceidratio" | "parentbased_always_on" | "parentbased_always_off" | "parentbased_traceidratio";

/** Tracing as the environment configures it. */
export interface TracingConfig {
  exporter: TraceExporterKind;
  /** The traces URL: OTLP's /v1/traces or Zipkin's /api/v2/spans; none for console. */
  endpoint?: string;
  sampler: SamplerKind;
  /** The ratio of the traceidratio samplers, in [0, 1]. */
  ratio: number;
  /** OTEL_SERVICE_NAME, else MESH_SERVICE_NAME; else the name serve() or createClient() gives. */
  serviceName?: string;
  /** MESH_INSTANCE (which replica), as service.instance.id. */
  instance?: string;
}

const exporters = ["otlp", "zipkin", "console"];
const samplers = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

/**
 * Reads OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP(_TRACES)_PROTOCOL, OTEL_EXPORTER_ZIPKIN_ENDPOINT,
 * OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG and OTEL_SERVICE_NAME; undefined means off. Empty
 * values count as unset (istio/base/config.yaml sets the endpoint to ""). Unlike the spec's default
 * (otlp to localhost), no exporter and no endpoint means off, so a process started without any
 * OTEL_* setting pays nothing. Throws on a value it does not know, as loadMeshConfig() does.
 */
export function tracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig | undefined {
  const get = (k: string) => env[k]?.trim() || undefined;
  if (get("OTEL_SDK_DISABLED")?.toLowerCase() === "true") return undefined;
  const base = get("OTEL_EXPORTER_OTLP_ENDPOINT");
  const otlpUrl = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? (base && `${base.replace(/\/+$/, "")}/v1/traces`);
  const named = get("OTEL_TRACES_EXPORTER")?.toLowerCase();
  const exporter = named ?? (otlpUrl ? "otlp" : "none");
  if (exporter === "none") return undefined;
  if (!exporters.includes(exporter)) throw new Error(`mesh: OTEL_TRACES_EXPORTER=${named} is not one of otlp, zipkin, console, none`);
  const protocol = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? get("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf";
  if (exporter === "otlp" && protocol !== "http/protobuf") {
    throw new Error(`mesh: OTLP protocol ${protocol} is not supported; use http/protobuf (a collector's port 4318)`);
  }
  const endpoint = exporter === "otlp" ? otlpUrl ?? "http://localhost:4318/v1/traces"
    : exporter === "zipkin" ? get("OTEL_EXPORTER_ZIPKIN_ENDPOINT") ?? "http://localhost:9411/api/v2/spans" : undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) throw new Error(`mesh: the ${exporter} traces endpoint ${endpoint} is not a URL`);
  const sampler = (get("OTEL_TRACES_SAMPLER")?.toLowerCase() ?? "parentbased_always_on") as SamplerKind;
  if (!samplers.includes(sampler)) throw new Error(`mesh: OTEL_TRACES_SAMPLER=${sampler} is not one of ${samplers.join(", ")}`);
  const arg = get("OTEL_TRACES_SAMPLER_ARG");
  const ratio = arg === undefined ? 1 : Number(arg);
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`mesh: OTEL_TRACES_SAMPLER_ARG=${arg} is not a ratio in [0, 1]`);
  return { exporter: exporter as TraceExporterKind, endpoint, sampler, ratio,
    serviceName: get("OTEL_SERVICE_NAME") ?? get("MESH_SERVICE_NAME"), instance: get("MESH_INSTANCE") };
}

type Api = typeof import("@opentelemetry/api");

/** The loaded SDK: the api module (its runtime half is loaded only with tracing on), our tracer, the provider. */
interface Sdk {
  api: Api;
  tracer: Tracer;
  flush(): Promise<void>;
}

let config: TracingConfig | undefined | null = null; // null: the environment is not read yet
let loading: Promise<void> | undefined;
let sdk: Sdk | undefined;
let givenName: string | undefined;

/** True when the environment turns tracing on (read once per process). */
export function tracingEnabled(): boolean {
  if (config === null) config = tracingConfig();
  return config !== undefined;
}

/**
 * Loads the SDK and registers the global tracer provider, once per process; `name` is the service
 * name when the environment gives none. Resolves at once when tracing is off.
 */
export function startTracing(name?: string): Promise<void> {
  givenName ??= name;
  if (!tracingEnabled()) return Promise.resolve();
  loading ??= load(config!).then((s) => { sdk = s; });
  return loading;
}

/**
 * Exports every span that has ended, waiting at most `timeoutMs` (a graceful stop calls it, so the
 * last calls are not lost, and a trace backend that is down does not hold the stop up).
 */
export async function flushTracing(timeoutMs = 2000): Promise<void> {
  if (sdk === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
  await Promise.race([sdk.flush().catch(() => {}), late]);
  clearTimeout(timer);
}

async function load(cfg: TracingConfig): Promise<Sdk> {
  const [api, base, resources] = await Promise.all([
    import("@opentelemetry/api"), import("@opentelemetry/sdk-trace-base"), import("@opentelemetry/resources"),
  ]);
  const ratio = new base.TraceIdRatioBasedSampler(cfg.ratio);
  const sampler = {
    always_on: () => new base.AlwaysOnSampler(),
    always_off: () => new base.AlwaysOffSampler(),
    traceidratio: () => ratio,
    parentbased_always_on: () => new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() }),
    parentbased_always_off: () => new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new base.ParentBasedSampler({ root: ratio }),
  }[cfg.sampler]();
  const serviceName = cfg.serviceName ?? givenName ?? "unknown_service:node";
  // OTEL_RESOURCE_ATTRIBUTES (the env detector) may add attributes or override ours.
  const resource = resources.resourceFromAttributes({
    "service.name": serviceName,
    ...(cfg.instance ? { "service.instance.id": cfg.instance } : {}),
  }).merge(resources.detectResources({ detectors: [resources.envDetector] }));
  let processor;
  if (cfg.exporter === "console") {
    processor = new base.SimpleSpanProcessor(new base.ConsoleSpanExporter());
  } else {
    // Batched (the SDK's defaults, OTEL_BSP_* to tune): a span costs the call an enqueue, no I/O.
    const exporter = cfg.exporter === "otlp"
      ? new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter({ url: cfg.endpoint })
      : new (await import("@opentelemetry/exporter-zipkin")).ZipkinExporter({ url: cfg.endpoint });
    processor = new base.BatchSpanProcessor(exporter);
  }
  // Ids from trace.ts's pooled random buffer, as the mesh's own propagation makes them.
  const idGenerator = { generateTraceId: newTraceId, generateSpanId: newSpanId };
  const provider = new base.BasicTracerProvider({ resource, sampler, spanProcessors: [processor], idGenerator });
  api.trace.setGlobalTracerProvider(provider);
  return { api, tracer: provider.getTracer("@shopmesh/mesh"), flush: () => provider.forceFlush() };
}

/** A span as a parent context: the inbound call's span, else none (a new trace). */
function parentOf(s: Sdk, span: Span | undefined) {
  return span ? s.api.trace.setSpan(s.api.ROOT_CONTEXT, span) : s.api.ROOT_CONTEXT;
}

/** The span's own traceparent flags: sampled or not, as the sampler decided. */
function flagsOf(span: Span): string {
  return span.spanContext().traceFlags & 1 ? "01" : "00";
}

/** "host:port" (or "ipv4:host:port", "dns:host:port") as server.address and server.port. */
function serverAttributes(address: string): Record<string, string | number> {
  const m = /^(?:[a-z0-9]+:)?\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  return m ? { "server.address": m[1]!, "server.port": Number(m[2]) } : { "server.address": address };
}

// Server spans that are errors, as OpenTelemetry's gRPC conventions say: the server failed, not
// the caller (a NotFound or InvalidArgument is the caller's business, not a failure of the server).
const serverErrors = new Set<number>([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

/** What serve() traces its calls with. */
export interface ServerTracing {
  /**
   * Starts the call's SERVER span, a child of the caller's traceparent, and gives the inbound call
   * the span's trace id, span id and flags, so logs, outbound calls and Zipkin name the same span.
   */
  start(inbound: InboundCall, service: string, method: string, parent: TraceParent | undefined): void;
  /** Ends the call's span with its gRPC status (`message`: what the client was told). */
  end(inbound: InboundCall | undefined, code: number, message: string | undefined): void;
}

/** The server side's tracing for a server listening on host:port; undefined when tracing is off. */
export async function serverTracing(name: string, host: string, port: number): Promise<ServerTracing | undefined> {
  await startTracing(name);
  const s = sdk;
  if (s === undefined) return undefined;
  const { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } = s.api;
  return {
    start(inbound, service, method, parent) {
      const ctx = parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, {
        traceId: parent.traceId, spanId: parent.parentId, traceFlags: parseInt(parent.flags, 16) & 1, isRemote: true,
      });
      const span = s.tracer.startSpan(`${service}/${method}`, {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method, "server.address": host, "server.port": port },
      }, ctx);
      const sc = span.spanContext();
      inbound.span = span;
      inbound.traceId = sc.traceId;
      inbound.spanId = sc.spanId;
      inbound.traceFlags = flagsOf(span);
    },
    end(inbound, code, message) {
      const span = inbound?.span;
      if (span === undefined || !span.isRecording()) return;
      span.setAttribute("rpc.grpc.status_code", code);
      if (inbound!.caller !== undefined) span.setAttribute("shop.caller", inbound!.caller);
      if (serverErrors.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end();
    },
  };
}

/** One traced outbound call: its CLIENT span and what its attempts saw. */
interface CallTrace {
  span: Span;
  /** Attempts sent (0 when a breaker refused the call). */
  attempts: number;
  /** The endpoint of the last attempt, and its breaker's state when the attempt was let through. */
  endpoint?: Endpoint;
  breaker?: BreakerState;
}

const callTraceKey = createContextKey<CallTrace | undefined>(undefined, { description: "mesh client span" });

/** The endpoints a client sends to, in its transport's order, each with its breaker. */
export interface TracedEndpoint {
  address: string;
  breaker?: Breaker;
}

/** An endpoint with its server.address and server.port, worked out once. */
interface Endpoint extends TracedEndpoint {
  attributes: Record<string, string | number>;
}

/**
 * The client side's two interceptors: `call` (right inside the deadline interceptor) makes one
 * CLIENT span per call and sends its traceparent, so the upstream's server span is its child;
 * `attempt` (innermost, after the retry and the endpoint pick) counts the attempts and notes the
 * endpoint each went to and the state of the breaker that let it through. A call its breaker
 * refused has 0 attempts and the breaker state `open`. Both pass calls through until the SDK is
 * loaded (createClient() starts loading it).
 */
export function clientTracing(traced: TracedEndpoint[]): { call: Interceptor; attempt: Interceptor } {
  const endpoints: Endpoint[] = traced.map((e) => ({ ...e, attributes: serverAttributes(e.address) }));
  const call: Interceptor = (next) => (req) => {
    const s = sdk;
    if (s === undefined) return next(req);
    const service = req.service.typeName;
    const method = req.method.name;
    // Inside a handler, the inbound call's span is the parent; outside one, a traceparent the
    // caller set itself; else the call starts a trace.
    const inbound = inboundCall()?.span;
    const own = inbound === undefined ? parseTraceparent(req.header.get("traceparent") ?? undefined) : undefined;
    const ctx = own === undefined ? parentOf(s, inbound) : s.api.trace.setSpanContext(s.api.ROOT_CONTEXT, {
      traceId: own.traceId, spanId: own.parentId, traceFlags: parseInt(own.flags, 16) & 1, isRemote: true,
    });
    const options: SpanOptions = { kind: s.api.SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method } };
    const span = s.tracer.startSpan(`${service}/${method}`, options, ctx);
    const sc = span.spanContext();
    req.header.set("traceparent", formatTraceparent(sc.traceId, sc.spanId, flagsOf(span)));
    const t: CallTrace = { span, attempts: 0 };
    req.contextValues.set(callTraceKey, t);
    return afterCall(() => next(req), (code, err) => endCall(s, t, endpoints, code, err?.rawMessage));
  };
  const attempt: Interceptor = (next) => (req) => {
    const t = req.contextValues.get(callTraceKey);
    if (t !== undefined) {
      t.attempts++;
      const e = endpoints[req.contextValues.get(endpointKey)] ?? endpoints[0];
      t.endpoint = e;
      t.breaker = e?.breaker?.state();
      if (t.attempts > 1) t.span.addEvent("retry", { "shop.rpc.attempt": t.attempts });
    }
    return next(req);
  };
  return { call, attempt };
}

function endCall(s: Sdk, t: CallTrace, endpoints: Endpoint[], code: number, message: string | undefined): void {
  const { span } = t;
  if (!span.isRecording()) return; // not sampled: nothing to record (end() would do nothing either)
  const endpoint = t.endpoint ?? endpoints[0];
  if (endpoint !== undefined) span.setAttributes(endpoint.attributes);
  // No attempt: every breaker refused the call (one breaker: its own state says so).
  const breaker = t.breaker ?? (t.attempts === 0 && endpoints.some((e) => e.breaker) ? (endpoints.length === 1 ? endpoints[0]!.breaker!.state() : "open") : undefined);
  if (breaker !== undefined) span.setAttribute("shop.breaker.state", breaker);
  span.setAttribute("shop.rpc.attempts", t.attempts);
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== 0) span.setStatus({ code: s.api.SpanStatusCode.ERROR, message });
  span.end();
}

/** Starts a CLIENT span under the inbound call's span; none outside a call (housekeeping stays out of traces). */
function childSpan(name: string, attributes: Record<string, string | number>): Span | undefined {
  const s = sdk;
  const parent = inboundCall()?.span;
  if (s === undefined || parent === undefined) return undefined;
  return s.tracer.startSpan(name, { kind: s.api.SpanKind.CLIENT, attributes }, parentOf(s, parent));
}

function failSpan(span: Span, err: unknown): void {
  const s = sdk!;
  span.setStatus({ code: s.api.SpanStatusCode.ERROR, message: (err as { name?: string } | null)?.name ?? "error" });
  span.end();
}

/**
 * A span per command of a MongoDB client, from the driver's command monitoring (its events fire in
 * the async context of the call that issued the command). Call before `connect()`: connections
 * read the monitoring option when they open. No-op when tracing is off. Attributes name the
 * database, collection and command, never a document.
 */
export async function traceMongo(client: MongoClient): Promise<void> {
  if (!tracingEnabled()) return;
  await startTracing();
  client.options.monitorCommands = true;
  // Keyed by the driver's request id, unique per process; every started command gets a
  // succeeded or a failed event, which removes it.
  const open = new Map<number, Span>();
  client.on("commandStarted", (e) => {
    const target = e.command[e.commandName];
    const collection = typeof target === "string" ? target : undefined;
    const span = childSpan(collection ? `${e.commandName} ${e.databaseName}.${collection}` : `${e.commandName} ${e.databaseName}`, {
      "db.system": "mongodb", "db.namespace": e.databaseName, "db.operation.name": e.commandName,
      ...(collection ? { "db.collection.name": collection } : {}), ...serverAttributes(e.address),
    });
    if (span !== undefined) open.set(e.requestId, span);
  });
  client.on("commandSucceeded", (e) => {
    open.get(e.requestId)?.end();
    open.delete(e.requestId);
  });
  client.on("commandFailed", (e) => {
    const span = open.get(e.requestId);
    open.delete(e.requestId);
    if (span !== undefined) failSpan(span, e.failure);
  });
}

/**
 * A span per command of an ioredis client (pipelined commands included), made where the command
 * is sent, in the caller's async context. No-op when tracing is off. The span names the command,
 * never its keys or values (session tokens are keys).
 */
export async function traceRedis(redis: Redis): Promise<void> {
  if (!tracingEnabled()) return;
  await startTracing();
  const send = redis.sendCommand.bind(redis);
  const where = serverAttributes(`${redis.options.host ?? "localhost"}:${redis.options.port ?? 6379}`);
  redis.sendCommand = ((command, stream) => {
    const name = command.name.toUpperCase();
    const span = childSpan(name, { "db.system": "redis", "db.operation.name": name, ...where });
    const sent = send(command, stream);
    if (span !== undefined) command.promise.then(() => span.end(), (err: unknown) => failSpan(span, err));
    return sent;
  }) as Redis["sendCommand"];
}
