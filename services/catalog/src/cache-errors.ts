// Accounting for cache trouble: every skipped or failed Redis operation counts in
// shop_catalog_cache_errors_total, and the log gets at most one line per interval, so a Redis
// outage under load shows up clearly without flooding the log.
import { Counter, type Registry } from "prom-client";
import type { Logger } from "@shopmesh/mesh";

/** Records cache errors. */
export type CacheErrorSink = (op: string, err: unknown) => void;

const METRIC = "shop_catalog_cache_errors_total";

/** The counter in `registry`, created once per registry (tests start several servers per process). */
function counter(registry: Registry): Counter<"op"> {
  const existing = registry.getSingleMetric(METRIC) as Counter<"op"> | undefined;
  return existing ?? new Counter({ name: METRIC, help: "Catalog cache (Redis) operations skipped or failed; served from MongoDB instead.",
    labelNames: ["op"], registers: [registry] });
}

/** Creates the sink: counts every error, logs at most once per intervalMs with the number suppressed. */
export function createCacheErrorSink(registry: Registry, log: Logger, intervalMs = 10_000): CacheErrorSink {
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
      "product cache unavailable; serving from MongoDB");
    lastLog = now;
    suppressed = 0;
  };
}
