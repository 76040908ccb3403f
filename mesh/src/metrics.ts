// Prometheus metrics with the standard gRPC server names (as go-grpc-prometheus), in one registry per
// process that /metrics serves. Label children are resolved once per method, not per call.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { Code } from "@connectrpc/connect";

/** The process-wide registry; mesh-client registers its client metrics here too. */
export const meshRegistry = new Registry();
collectDefaultMetrics({ register: meshRegistry });

const methodLabels = ["grpc_type", "grpc_service", "grpc_method"] as const;

const started = new Counter({ name: "grpc_server_started_total", help: "RPCs started on the server.", labelNames: methodLabels, registers: [meshRegistry] });
const handled = new Counter({ name: "grpc_server_handled_total", help: "RPCs completed on the server, by status code.", labelNames: [...methodLabels, "grpc_code"], registers: [meshRegistry] });
const handling = new Histogram({
  name: "grpc_server_handling_seconds", help: "Response latency of RPCs handled by the server.", labelNames: methodLabels,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [meshRegistry],
});
// In-flight counts are read at scrape time, so the hot path pays nothing for this gauge.
const inflightSources = new Map<string, () => number>();
new Gauge({
  name: "mesh_server_inflight_calls", help: "Calls being handled right now.", labelNames: ["service"], registers: [meshRegistry],
  collect() {
    this.reset();
    for (const [service, count] of inflightSources) this.set({ service }, count());
  },
});
const shed = new Counter({ name: "mesh_server_shed_total", help: "Calls refused by the concurrency limit (load shedding).", labelNames: ["service"], registers: [meshRegistry] });

/** gRPC code name as go-grpc-prometheus writes it ("OK", "NotFound", ...). */
export function codeName(code: number): string {
  return code === 0 ? "OK" : (Code[code] ?? String(code));
}

/** Pre-resolved metric children of one method. */
export interface MethodMetrics {
  /** Counts a started call. */
  start(): void;
  /** Counts a finished call with its status code and duration (seconds). */
  finish(code: number, seconds: number): void;
}

/** Creates the metric children of one method. */
export function createMethodMetrics(type: "unary" | "server_stream" | "bidi_stream" | "client_stream", service: string, method: string): MethodMetrics {
  const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
  const startedChild = started.labels(labels);
  const handlingChild = handling.labels(labels);
  const handledByCode = new Map<number, ReturnType<typeof handled.labels>>();
  return {
    start: () => startedChild.inc(),
    finish(code, seconds) {
      let child = handledByCode.get(code);
      if (child === undefined) {
        child = handled.labels({ ...labels, grpc_code: codeName(code) });
        handledByCode.set(code, child);
      }
      child.inc();
      handlingChild.observe(seconds);
    },
  };
}

/** Reports a server's in-flight call count (read at scrape time); returns the unregister function. */
export function reportInflight(service: string, count: () => number): () => void {
  inflightSources.set(service, count);
  return () => {
    if (inflightSources.get(service) === count) inflightSources.delete(service);
  };
}

/** Counter child of shed calls for a server. */
export function shedCounter(service: string) {
  return shed.labels({ service });
}
