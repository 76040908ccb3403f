// pino loggers. One root logger per process; children per component, created once (never per call).
import { pino, type Logger } from "pino";

let root: Logger | undefined;

function rootLogger(): Logger {
  // Under jest the default is silent so test output stays readable; LOG_LEVEL overrides everywhere.
  const level = process.env.LOG_LEVEL ?? (process.env.JEST_WORKER_ID !== undefined ? "silent" : "info");
  root ??= pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
  return root;
}

/** Returns a pino JSON logger whose lines carry `name` (service or component). */
export function createLogger(name: string): Logger {
  return rootLogger().child({ name });
}

export type { Logger } from "pino";
