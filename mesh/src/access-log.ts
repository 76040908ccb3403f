// Which finished calls get an access log line (serve.ts). A line per call cost catalog 15% of a
// GetProduct's CPU, measured with a profile of the real service under ghz (docs/architecture.md,
// "Access logs"): pino's formatting and a write() per line. So fast successful calls are sampled,
// by trace: every service keeps or drops the same traces, and a kept checkout has its lines in
// every service it touched. Errors and slow calls are always written, and the metrics count every
// call whatever the log keeps.

/** The sampling of access log lines. */
export interface AccessLogConfig {
  /** Keep one trace in this many of the fast successful calls; 1 keeps every call. */
  sampleOneIn: number;
  /** A call that took at least this long is always written, ms. */
  slowMs: number;
}

/** One trace in ten, like the cluster's trace sampling; every call of 100 ms or more. */
export const defaultAccessLog: AccessLogConfig = { sampleOneIn: 10, slowMs: 100 };

/**
 * Whether a finished call gets its line: always when it failed or was slow, or when tracing kept
 * its trace (so a trace found in Zipkin has its lines); otherwise when its trace id falls in the
 * sample. The decision reads the trace id's last 8 hex digits, which W3C ids fill at random.
 */
export function keepsLine(cfg: AccessLogConfig, call: { code: number; ms: number; traceId: string | undefined; traced: boolean }): boolean {
  if (call.code !== 0 || call.ms >= cfg.slowMs || call.traced || cfg.sampleOneIn === 1) return true;
  if (call.traceId === undefined || call.traceId.length < 8) return true;
  const bucket = parseInt(call.traceId.slice(-8), 16);
  return Number.isNaN(bucket) || bucket % cfg.sampleOneIn === 0;
}
