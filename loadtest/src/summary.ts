// Turns ghz reports into the rows of the terminal table and of summary.json.
import type { GhzReport } from "./ghz.js";

/** One scenario's figures. */
export interface ScenarioSummary {
  /** Scenario name. */
  name: string;
  /** Calls made. */
  count: number;
  /** Calls per second over the run. */
  rps: number;
  /** Latency percentiles of successful calls, milliseconds. */
  p50: number;
  /** 90th percentile, milliseconds. */
  p90: number;
  /** 99th percentile, milliseconds. */
  p99: number;
  /** Failed calls per status code name; empty when every call succeeded. */
  errors: Record<string, number>;
  /** Where ghz's HTML report is. */
  html: string;
}

const ms = (ns: number | undefined) => Math.round((ns ?? 0) / 10_000) / 100;

/** Summarizes one ghz report. */
export function summarizeReport(name: string, report: GhzReport, html: string): ScenarioSummary {
  const at = (p: number) => report.latencyDistribution?.find((d) => d.percentage === p)?.latency;
  const errors: Record<string, number> = {};
  for (const [code, n] of Object.entries(report.statusCodeDistribution ?? {})) {
    if (code !== "OK" && n > 0) errors[code] = n;
  }
  // Calls that never got a status (dial failures) appear only in the error distribution.
  const withStatus = Object.values(report.statusCodeDistribution ?? {}).reduce((a, b) => a + b, 0);
  if (report.count > withStatus) errors["NO_STATUS"] = report.count - withStatus;
  return {
    name,
    count: report.count,
    rps: Math.round(report.rps * 10) / 10,
    p50: ms(at(50)),
    p90: ms(at(90)),
    p99: ms(at(99)),
    errors,
    html,
  };
}

/** Formats summaries as a fixed-width text table for the terminal. */
export function formatTable(rows: readonly ScenarioSummary[]): string {
  const header = ["scenario", "calls", "rps", "p50 ms", "p90 ms", "p99 ms", "errors"];
  const body = rows.map((r) => [
    r.name,
    String(r.count),
    r.rps.toFixed(1),
    r.p50.toFixed(2),
    r.p90.toFixed(2),
    r.p99.toFixed(2),
    Object.keys(r.errors).length ? Object.entries(r.errors).map(([c, n]) => `${c}=${n}`).join(" ") : "0",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
