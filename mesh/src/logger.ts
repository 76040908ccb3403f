// pino loggers. One root logger per process; children per component, created once (never per call).
import { pino, type Logger } from "pino";
import { inboundCall } from "./context.js";

/**
 * What every line written while a call is handled carries (pino's mixin): its trace and span, so
 * log lines can be matched to a trace's spans. A line's own trace_id/span_id (the access log's) wins.
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const call = inboundCall();
  return call === undefined ? {} : { trace_id: call.traceId, span_id: call.spanId };
}

let root: Logger | undefined;

function rootLogger(): Logger {
  // Under jest the default is silent so test output stays readable; LOG_LEVEL overrides everywhere.
  const level = process.env.LOG_LEVEL ?? (process.env.JEST_WORKER_ID !== undefined ? "silent" : "info");
  root ??= pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, mixin: traceFields });
  return root;
}

/** Returns a pino JSON logger whose lines carry `name` (service or component). */
export function createLogger(name: string): Logger {
  return rootLogger().child({ name });
}

export type { Logger } from "pino";
