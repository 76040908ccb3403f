// `make logs TRACE=<id>` (cli.js trace-logs <id>): one trace's lines from every log of the mesh, in
// time order, each after its time and the log it came from (docs/architecture.md, "Metrics and
// logs"). The services write one JSON object per line with trace_id on every line of a call: pino's
// ISO time in the TypeScript services, epoch milliseconds in the Python one. Lines that are not
// JSON (FerretDB, Envoy, nginx) carry no trace_id field and are skipped.
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";

/** A line of the trace: when, which log, and the line as written. */
export interface TraceLine {
  time: number;
  log: string;
  line: string;
}

/** A line of `log` as a line of the trace `traceId`; undefined when it is not one. */
export function traceLineOf(log: string, line: string, traceId: string): TraceLine | undefined {
  // Most lines are of other traces, or of none: a substring test before any parse.
  if (!line.includes(traceId)) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { trace_id: id, time } = (entry ?? {}) as { trace_id?: unknown; time?: unknown };
  if (id !== traceId) return undefined;
  const ms = typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : NaN;
  return { time: Number.isNaN(ms) ? 0 : ms, log, line };
}

/** Time order across logs; a stable sort, so a log's own lines of one millisecond keep their order. */
export function formatTrace(lines: TraceLine[]): string[] {
  const width = Math.max(0, ...lines.map((l) => l.log.length));
  return [...lines].sort((a, b) => a.time - b.time).map((l) => `${new Date(l.time).toISOString()} ${l.log.padEnd(width)} ${l.line}`);
}

/** Every *.log in `dir` (named by its file, without .log) read line by line, so a large log is never held whole. */
export async function traceLogs(dir: string, traceId: string): Promise<string[]> {
  const id = traceId.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`trace-logs: ${JSON.stringify(traceId)} is not a trace id (32 hex digits)`);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".log")).sort();
  const found: TraceLine[] = [];
  for (const f of files) {
    const log = basename(f, ".log");
    for await (const line of createInterface({ input: createReadStream(join(dir, f)), crlfDelay: Infinity })) {
      const t = traceLineOf(log, line, id);
      if (t !== undefined) found.push(t);
    }
  }
  return formatTrace(found);
}
