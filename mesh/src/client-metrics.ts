import { Code, type Interceptor } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BreakerState } from "./breaker.js";
import { afterCall } from "./call-end.js";
import { meshRegistry } from "./metrics.js";

/** The client-side metrics, registered once in the registry the server's /metrics serves. */
export interface ClientMetrics {
  /** grpc_client_handled_total{grpc_service,grpc_method,grpc_code} */
  handled: Counter<"grpc_service" | "grpc_method" | "grpc_code">;
  /** grpc_client_handling_seconds{grpc_service,grpc_method} */
  handling: Histogram<"grpc_service" | "grpc_method">;
  /** shop_client_retries_total{target} */
  retries: Counter<"target">;
  /** shop_breaker_state{target[,endpoint]}: 0 closed, 1 half-open, 2 open. */
  breakerState: Gauge<"target" | "endpoint">;
}

// gRPC's own spelling of each code, as grpc-prometheus and the server side label them.
const codeNames: Record<Code, string> = {
  [Code.Canceled]: "Canceled",
  [Code.Unknown]: "Unknown",
  [Code.InvalidArgument]: "InvalidArgument",
  [Code.DeadlineExceeded]: "DeadlineExceeded",
  [Code.NotFound]: "NotFound",
  [Code.AlreadyExists]: "AlreadyExists",
  [Code.PermissionDenied]: "PermissionDenied",
  [Code.ResourceExhausted]: "ResourceExhausted",
  [Code.FailedPrecondition]: "FailedPrecondition",
  [Code.Aborted]: "Aborted",
  [Code.OutOfRange]: "OutOfRange",
  [Code.Unimplemented]: "Unimplemented",
  [Code.Internal]: "Internal",
  [Code.Unavailable]: "Unavailable",
  [Code.DataLoss]: "DataLoss",
  [Code.Unauthenticated]: "Unauthenticated",
};

const stateValue: Record<BreakerState, number> = { closed: 0, halfOpen: 1, open: 2 };

let cached: ClientMetrics | undefined;

/** Returns the client metrics, creating them on first use (a registry rejects duplicates). */
export function clientMetrics(registry: Registry = meshRegistry): ClientMetrics {
  if (cached && registry === meshRegistry) return cached;
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const m: ClientMetrics = {
    handled: get("grpc_client_handled_total", () => new Counter({
      name: "grpc_client_handled_total",
      help: "Total number of RPCs completed by the client, regardless of success or failure.",
      labelNames: ["grpc_service", "grpc_method", "grpc_code"] as const,
      registers: [registry],
    })),
    handling: get("grpc_client_handling_seconds", () => new Histogram({
      name: "grpc_client_handling_seconds",
      help: "Histogram of response latency (seconds) of RPCs until the client got the response.",
      labelNames: ["grpc_service", "grpc_method"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })),
    retries: get("shop_client_retries_total", () => new Counter({
      name: "shop_client_retries_total",
      help: "Retries made by mesh clients, per upstream target.",
      labelNames: ["target"] as const,
      registers: [registry],
    })),
    breakerState: get("shop_breaker_state", () => new Gauge({
      name: "shop_breaker_state",
      help: "Circuit breaker state per upstream target (and endpoint, when it has several): 0 closed, 1 half-open, 2 open.",
      labelNames: ["target", "endpoint"] as const,
      registers: [registry],
    })),
  };
  if (registry === meshRegistry) cached = m;
  return m;
}

/** Sets the breaker state gauge of `target`, or of one of its endpoints when it has several. */
export function recordBreakerState(m: ClientMetrics, target: string, state: BreakerState, endpoint?: string): void {
  m.breakerState.set(endpoint === undefined ? { target } : { target, endpoint }, stateValue[state]);
}

/**
 * Counts and times every call as the application sees it (after retries, breaker included).
 * A server stream is counted when it ends, with the code it ended with.
 */
export function createMetricsInterceptor(m: ClientMetrics): Interceptor {
  // Label children are resolved once per method: label lookups are measurable at 10k calls/s.
  type Children = {
    service: string;
    method: string;
    timer: Histogram.Internal<"grpc_service" | "grpc_method">;
    byCode: Map<string, ReturnType<ClientMetrics["handled"]["labels"]>>;
  };
  const children = new Map<string, Children>();
  const labelsOf = (typeName: string, name: string) => {
    const key = `${typeName}/${name}`;
    let c = children.get(key);
    if (!c) {
      const labels = { grpc_service: typeName, grpc_method: name };
      c = { service: typeName, method: name, timer: m.handling.labels(labels), byCode: new Map() };
      children.set(key, c);
    }
    return c;
  };
  const finish = (c: Children, start: bigint, code: string) => {
    c.timer.observe(Number(process.hrtime.bigint() - start) / 1e9);
    let counter = c.byCode.get(code);
    if (!counter) {
      counter = m.handled.labels({ grpc_service: c.service, grpc_method: c.method, grpc_code: code });
      c.byCode.set(code, counter);
    }
    counter.inc();
  };
  return (next) => (req) => {
    const c = labelsOf(req.service.typeName, req.method.name);
    const start = process.hrtime.bigint();
    return afterCall(() => next(req), (code) => finish(c, start, code === 0 ? "OK" : codeNames[code] ?? "Unknown"));
  };
}
