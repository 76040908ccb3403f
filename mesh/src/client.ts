// Typed clients of other services, with the mesh's interceptors (docs/architecture.md, "Calling other services").
import * as grpc from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import { createClient as createConnectClient, type Client, type Interceptor } from "@connectrpc/connect";
import type { MeshConfig } from "./config.js";
import { inboundCall } from "./context.js";
import { outboundTraceparent } from "./trace.js";
import { createBreaker, createBreakerInterceptor, createEndpointInterceptor, type Breaker, type BreakerOptions } from "./breaker.js";
import { clientMetrics, createMetricsInterceptor, recordBreakerState } from "./client-metrics.js";
import { createDeadlineInterceptor, type InboundCallInfo } from "./deadline.js";
import { createRetryInterceptor, type RetryOptions } from "./retry.js";
import { createGrpcJsTransport, type GrpcJsTransport } from "./transport.js";
import { clientTracing, startTracing, tracingEnabled } from "./tracing.js";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The upstream's name in the topology (e.g. "catalog"): names its breaker, metrics and TLS identity. */
  target: string;
  /**
   * The upstream's address: "host:port", or `ipv4:a,b` listing several endpoints (replicas),
   * which get a channel and a breaker each.
   */
  address: string;
  /** The mesh config of the calling process (mode and mTLS material). */
  config: MeshConfig;
  /** Deadline of calls that set none and are not made inside a handler, in ms (default 2000). */
  defaultTimeoutMs?: number;
  /** Breaker tuning, or false for no breaker. */
  breaker?: BreakerOptions | false;
  /** Retry tuning, or false for no retries (always off in istio mode: the sidecar retries). */
  retry?: RetryOptions | false;
  /** Channel credentials overriding the ones derived from `config` (tests, benchmarks). */
  credentials?: grpc.ChannelCredentials;
  /** Extra interceptors, run innermost (once per attempt). */
  interceptors?: Interceptor[];
}

/** The transport and breakers shared by every client of one upstream. */
interface Upstream {
  transport: GrpcJsTransport;
  /** By address: one for the whole address, or one per endpoint of an `ipv4:a,b` target. */
  breakers: Map<string, Breaker>;
}

const upstreams = new Map<string, Upstream>();

/**
 * Creates connect's typed client for `service` over a grpc-js channel, with the mesh's
 * interceptors, outermost first:
 *
 * 1. metrics: what the application sees, one count per logical call;
 * 2. deadline: fixes the call's one deadline (own timeout, inbound remainder, default) before
 *    anything else, so the breaker counts a DeadlineExceeded and retries share the same budget;
 *    it records the call's own timeout too, so the breaker can tell a deadline the caller spent
 *    (not counted) from one the upstream missed; also forwards the end user's token and the
 *    trace context;
 * 3. breaker: outside retry, so it counts logical calls. An open breaker fails before any
 *    attempt (no retry of a fast-fail), and a call rescued by a retry counts as a success: the
 *    caller was served. Retries are capped at 20% of calls, so they cannot hide an outage
 *    (every attempt of a call failing still counts as a failure);
 * 4. retry (local mode only): idempotent methods, Unavailable only, budgeted, deadline-capped;
 * 5. `opts.interceptors`, then the grpc-js call.
 *
 * With tracing on (tracing.ts), a CLIENT span per call right inside the deadline interceptor, and
 * its attempt counter innermost, after the retry and the endpoint pick.
 *
 * An address that lists several endpoints (`ipv4:a,b`, the runner's replicas) gets one channel
 * and one breaker per endpoint instead, so one bad replica is cut off alone: after the retry,
 * an endpoint interceptor sends each attempt to the next endpoint whose breaker admits it
 * (round robin), through that breaker (createEndpointInterceptor). A retry then goes to another
 * replica, as grpc-js's fail-over between the addresses of one channel did for a replica down.
 *
 * Channels and breakers are cached per (caller identity, mode, target, address): creating a
 * client per request is cheap and shares one HTTP/2 connection. The first options win.
 */
export function createClient<T extends DescService>(service: T, opts: ClientOptions): Client<T> {
  return createConnectClient(service, upstreamOf(opts).transport);
}

/** Closes every cached channel and breaker (tests, and shutdown after the server drained). */
export function closeClients(): void {
  for (const u of upstreams.values()) {
    u.transport.close();
    for (const b of u.breakers.values()) b.shutdown();
  }
  upstreams.clear();
}

type UpstreamKey = Pick<ClientOptions, "target" | "address" | "config">;

/**
 * The breaker guarding `target` for clients built from `opts`, if one was created. When the
 * address lists several endpoints, the breaker of `endpoint` (one of them, "host:port").
 */
export function breakerOf(opts: UpstreamKey & { endpoint?: string }): Breaker | undefined {
  return upstreams.get(keyOf(opts))?.breakers.get(opts.endpoint ?? opts.address);
}

/** Every breaker of `target` for clients built from `opts`: one, or one per endpoint. */
export function breakersOf(opts: UpstreamKey): Breaker[] {
  return [...(upstreams.get(keyOf(opts))?.breakers.values() ?? [])];
}

function keyOf(opts: UpstreamKey): string {
  return `${opts.config.name}|${opts.config.mode}|${opts.target}|${opts.address}`;
}

/** The endpoints an address lists: each "host:port" of `ipv4:a,b` (or ipv6), with its own grpc-js target. */
function endpointsOf(address: string): { address: string; target: string }[] {
  const m = /^(ipv4|ipv6):(.+)$/.exec(address);
  if (!m) return [{ address, target: address }];
  return m[2]!.split(",").map((a) => ({ address: a, target: `${m[1]}:${a}` }));
}

function upstreamOf(opts: ClientOptions): Upstream {
  const key = keyOf(opts);
  let u = upstreams.get(key);
  if (u) return u;
  const metrics = clientMetrics();
  const breakerOpts = opts.breaker;
  const newBreaker = (endpoint?: string) => {
    if (breakerOpts === false) return undefined;
    recordBreakerState(metrics, opts.target, "closed", endpoint);
    return createBreaker(opts.target, {
      ...breakerOpts,
      endpoint,
      onStateChange: (target, state) => {
        recordBreakerState(metrics, target, state, endpoint);
        breakerOpts?.onStateChange?.(target, state, endpoint);
      },
    });
  };
  // Without breakers, several endpoints stay on one channel (grpc-js fails over between them).
  const endpoints = breakerOpts === false ? [] : endpointsOf(opts.address);
  const perEndpoint = endpoints.length > 1;
  const breakers = new Map<string, Breaker>();
  for (const e of perEndpoint ? endpoints : [{ address: opts.address }]) {
    const b = newBreaker(perEndpoint ? e.address : undefined);
    if (b) breakers.set(e.address, b);
  }
  const interceptors: Interceptor[] = [
    createMetricsInterceptor(metrics),
    createDeadlineInterceptor({ defaultTimeoutMs: opts.defaultTimeoutMs, inbound: inboundInfo }),
  ];
  // Tracing (tracing.ts), only when on: nothing is added to the chain otherwise.
  const traced = tracingEnabled()
    ? clientTracing((perEndpoint ? endpoints : [{ address: opts.address }]).map((e) => ({ address: e.address, breaker: breakers.get(e.address) })))
    : undefined;
  if (traced) {
    void startTracing(opts.config.name);
    interceptors.push(traced.call);
  }
  const single = breakers.get(opts.address);
  if (single) interceptors.push(createBreakerInterceptor(single));
  // Two retrying layers multiply attempts: behind a sidecar, Istio's retry policy is the only one.
  if (opts.config.mode === "local" && opts.retry !== false) {
    const retryOpts = opts.retry ?? {};
    const retries = metrics.retries.labels({ target: opts.target });
    interceptors.push(
      createRetryInterceptor({
        ...retryOpts,
        onRetry: (req, attempt, err) => {
          retries.inc();
          retryOpts.onRetry?.(req, attempt, err);
        },
      }),
    );
  }
  if (perEndpoint) {
    const failing = (i: number) => transport.connectivity(i) === grpc.connectivityState.TRANSIENT_FAILURE;
    interceptors.push(createEndpointInterceptor([...breakers.values()], failing));
  }
  if (traced) interceptors.push(traced.attempt);
  interceptors.push(...(opts.interceptors ?? []));
  const transport = createGrpcJsTransport({
    address: opts.address,
    endpoints: perEndpoint ? endpoints.map((e) => e.target) : undefined,
    credentials: opts.credentials ?? credentialsOf(opts.config),
    interceptors,
    channelOptions: channelOptionsOf(opts),
  });
  u = { transport, breakers };
  upstreams.set(key, u);
  return u;
}

/**
 * Locally, the check that the upstream's certificate names the service we meant to call (DNS:<name>
 * SAN). Under Istio, the service's name as `:authority`, which is what the sidecar routes on: in a
 * cluster the address is that name anyway, but on one machine it is the sidecar's egress IP
 * (docs/istio-local.md), and `127.0.2.3:50052` matches no virtual host.
 */
export function channelOptionsOf(opts: Pick<ClientOptions, "target" | "address" | "config" | "credentials">): grpc.ChannelOptions {
  if (opts.credentials !== undefined || !(opts.target in opts.config.topology.services)) return {};
  if (opts.config.mode === "local") return { "grpc.ssl_target_name_override": opts.target };
  const port = /:(\d+)$/.exec(opts.address.split(",")[0]!)?.[1] ?? String(opts.config.topology.services[opts.target]!.port);
  return { "grpc.default_authority": `${opts.target}.${opts.config.trust.namespace}.svc.cluster.local:${port}` };
}

/** mTLS with this process's dev certificate in local mode; plaintext h2c to the sidecar in istio mode. */
export function credentialsOf(config: MeshConfig): grpc.ChannelCredentials {
  if (config.mode === "istio") return grpc.credentials.createInsecure();
  if (!config.tls) throw new Error(`mesh: local mode needs TLS material for ${config.name} (MESH_CERT_DIR)`);
  return grpc.credentials.createSsl(config.tls.ca, config.tls.key, config.tls.cert);
}

function inboundInfo(): InboundCallInfo | undefined {
  const call = inboundCall();
  if (!call) return undefined;
  return {
    deadline: call.deadline,
    authorization: call.authorization,
    // A fresh span id per outbound call: each is its own child span of the inbound one.
    traceparent: outboundTraceparent(),
    tracestate: call.tracestate,
    canary: call.canary,
  };
}
