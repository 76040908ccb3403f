// Accounting for Redis trouble: every failed Redis operation (the connection, a change event that
// could not be published) counts in shop_catalog_redis_errors_total, and the log gets at most one
// line per interval, so a Redis outage under load shows up clearly without flooding the log. Reads
// never need Redis (they are served by the view); watchers and other replicas miss the changes.
import { Counter, type Registry } from "prom-client";
import type { Logger } from "@shopmesh/mesh";

/** Records Redis errors. */
export type RedisErrorSink = (op: string, err: unknown) => void;

const METRIC = "shop_catalog_redis_errors_total";

/** The counter in `registry`, created once per registry (tests start several servers per process). */
function counter(registry: Registry): Counter<"op"> {
  const existing = registry.getSingleMetric(METRIC) as Counter<"op"> | undefined;
  return existing ?? new Counter({ name: METRIC,
    help: "Catalog Redis operations that failed (connection, publish); reads are served by the view regardless.",
    labelNames: ["op"], registers: [registry] });
}

/** Creates the sink: counts every error, logs at most once per intervalMs with the number suppressed. */
export function createRedisErrorSink(registry: Registry, log: Logger, intervalMs = 10_000): RedisErrorSink {
  const errors = counter(registry);
  let lastLog = 0;
  let suppressed = 0;
  return (op, err) => {
    errors.inc({ op });
    const now = Date.now();
    if (now - lastLog < intervalMs) {
      suppressed++;
      return;
    }
    log.warn({ op, err: err instanceof Error ? err.message : String(err), suppressed },
      "redis unavailable; changes are not announced to watchers and other replicas until it is back");
    lastLog = now;
    suppressed = 0;
  };
}
