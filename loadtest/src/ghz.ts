// Runs ghz once per scenario with JSON output, then renders ghz's own HTML page from that JSON
// (loadtest/ghz-html), so the numbers and the picture come from the same calls.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/** The parts of a ghz JSON report (ghz -O json) that the summaries read. */
export interface GhzReport {
  /** Calls made. */
  count: number;
  /** Wall time of the run, nanoseconds. */
  total: number;
  /** Calls per second. */
  rps: number;
  /** Latency percentiles of successful calls, nanoseconds. */
  latencyDistribution: { percentage: number; latency: number }[] | null;
  /** Calls per status, by ghz's code name ("OK", "Unavailable", ...). */
  statusCodeDistribution: Record<string, number> | null;
  /** Calls per error message. */
  errorDistribution: Record<string, number> | null;
}

/** Options of one ghz run. */
export interface GhzRunOptions {
  /** ghz binary. */
  ghz: string;
  /** host:port. */
  target: string;
  /** FileDescriptorSet of the contracts (gen/shop.binpb). */
  protoset: string;
  /** Fully qualified method, package.Service/Method. */
  call: string;
  /** Request, JSON text, may hold ghz template actions. */
  data: string;
  /** Metadata, JSON text, may hold ghz template actions. */
  metadata?: string;
  /** Run for this long (e.g. "30s"); exclusive with total. */
  duration?: string;
  /** Run exactly this many calls; exclusive with duration. */
  total?: number;
  /** Concurrent workers. */
  concurrency: number;
  /** Fixed request rate, calls/s (open loop); unset: as fast as the workers go. */
  rps?: number;
  /** HTTP/2 connections the workers share. Default 1. */
  connections?: number;
  /** Per-call deadline. Default "10s". */
  timeout?: string;
  /** mTLS files; plaintext when absent. */
  tls?: { cacert: string; cert: string; key: string; serverName: string };
  /** Report name shown in the HTML page. */
  name: string;
  /** Where the JSON report goes. */
  jsonOut: string;
}

/** Runs a command and resolves with its stderr, rejecting on a non-zero exit. */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stderr) : reject(new Error(`${cmd} exited with ${code}: ${stderr.trim().slice(0, 2000)}`)),
    );
  });
}

/** Builds ghz's argument list for one run. */
export function ghzArgs(o: GhzRunOptions): string[] {
  const args = [
    `--protoset=${o.protoset}`,
    `--call=${o.call}`,
    `--data=${o.data}`,
    `--concurrency=${o.concurrency}`,
    `--connections=${o.connections ?? 1}`,
    `--timeout=${o.timeout ?? "10s"}`,
    // Let calls in flight at the end finish and count, instead of cutting them off as errors.
    "--duration-stop=wait",
    `--name=${o.name}`,
    "--format=json",
    `--output=${o.jsonOut}`,
  ];
  if (o.metadata) args.push(`--metadata=${o.metadata}`);
  if (o.rps !== undefined) args.push(`--rps=${o.rps}`);
  if (o.duration) args.push(`--duration=${o.duration}`);
  else if (o.total !== undefined) args.push(`--total=${o.total}`);
  else throw new Error("ghz run needs a duration or a total");
  // The server's certificate names only its own service (mesh/src/identity-certs.ts).
  if (o.tls) args.push(`--cacert=${o.tls.cacert}`, `--cert=${o.tls.cert}`, `--key=${o.tls.key}`, `--cname=${o.tls.serverName}`);
  else args.push("--insecure");
  args.push(o.target);
  return args;
}

/** Runs ghz and returns its parsed JSON report. */
export async function runGhz(o: GhzRunOptions): Promise<GhzReport> {
  await run(o.ghz, ghzArgs(o));
  return JSON.parse(readFileSync(o.jsonOut, "utf8")) as GhzReport;
}

/** Renders ghz's HTML page from a JSON report with the ghz-html helper. */
export async function renderHtml(ghzHtml: string, jsonIn: string, htmlOut: string): Promise<void> {
  await run(ghzHtml, [jsonIn, htmlOut]);
}
