// Typed clients of other services, with the mesh's interceptors (docs/architecture.md, "Calling other services").
import * as grpc from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import { createClient as createConnectClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import type { MeshConfig } from "./config.js";
import { inboundCall } from "./context.js";
import { outboundTraceparent } from "./trace.js";
import { createBreaker, createBreakerInterceptor, type Breaker, type BreakerOptions } from "./breaker.js";
import { clientMetrics, createMetricsInterceptor, recordBreakerState } from "./client-metrics.js";
import { createDeadlineInterceptor, type InboundCallInfo } from "./deadline.js";
import { createRetryInterceptor, type RetryOptions } from "./retry.js";
import { createGrpcJsTransport } from "./transport.js";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The upstream's name in the topology (e.g. "catalog"): names its breaker, metrics and TLS identity. */
  target: string;
  /** The upstream's address, "host:port". */
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

/** The transport and breaker shared by every client of one upstream. */
interface Upstream {
  transport: Transport & { close(): void };
  breaker: Breaker | undefined;
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
    u.breaker?.shutdown();
  }
  upstreams.clear();
}

/** The breaker guarding `target` for clients built from `opts`, if one was created. */
export function breakerOf(opts: Pick<ClientOptions, "target" | "address" | "config">): Breaker | undefined {
  return upstreams.get(keyOf(opts))?.breaker;
}

function keyOf(opts: Pick<ClientOptions, "target" | "address" | "config">): string {
  return `${opts.config.name}|${opts.config.mode}|${opts.target}|${opts.address}`;
}

function upstreamOf(opts: ClientOptions): Upstream {
  const key = keyOf(opts);
  let u = upstreams.get(key);
  if (u) return u;
  const metrics = clientMetrics();
  const breaker =
    opts.breaker === false
      ? undefined
      : createBreaker(opts.target, {
          ...opts.breaker,
          onStateChange: (target, state) => {
            recordBreakerState(metrics, target, state);
            opts.breaker && opts.breaker.onStateChange?.(target, state);
          },
        });
  if (breaker) recordBreakerState(metrics, opts.target, "closed");
  const interceptors: Interceptor[] = [
    createMetricsInterceptor(metrics),
    createDeadlineInterceptor({ defaultTimeoutMs: opts.defaultTimeoutMs, inbound: inboundInfo }),
  ];
  if (breaker) interceptors.push(createBreakerInterceptor(breaker));
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
  interceptors.push(...(opts.interceptors ?? []));
  u = {
    transport: createGrpcJsTransport({
      address: opts.address,
      credentials: opts.credentials ?? credentialsOf(opts.config),
      interceptors,
      // Checks the upstream's certificate names the service we meant to call (DNS:<name> SAN).
      channelOptions:
        opts.credentials === undefined && opts.config.mode === "local" && opts.target in opts.config.topology.services
          ? { "grpc.ssl_target_name_override": opts.target }
          : {},
    }),
    breaker,
  };
  upstreams.set(key, u);
  return u;
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
  };
}
