// Controls the running local mesh (make up) from a chaos test: finds a process by its recorded
// pid, kills or stops it, and brings it back with the mesh runner's own `up`, which restarts only
// what is not running. Nothing here touches a process the runner did not record.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "@shopmesh/mesh";

/** The repo root. */
export const repo = join(import.meta.dirname, "..", "..");
const cli = join(repo, "runner", "dist", "cli.js");

/** name → pid of every recorded mesh process that still runs (from `cli.js pids`). */
export async function meshPids(): Promise<Map<string, number>> {
  const out = await run(["pids"], {}, 15_000);
  const pids = new Map<string, number>();
  for (const line of out.split("\n")) {
    const [name, pid] = line.trim().split(" ");
    if (name && pid && /^\d+$/.test(pid)) pids.set(name, Number(pid));
  }
  return pids;
}

/**
 * The processes whose pid changed between two meshPids() readings, besides the runner's
 * supervisor (stopProcess stops it and meshUp starts a new one: the scenario's own doing).
 */
export function restartedBetween(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...before].filter(([name, pid]) => name !== "supervisor" && after.get(name) !== pid).map(([name]) => name);
}

/** The pid of one recorded process; throws when it is not running. */
export async function pidOf(name: string): Promise<number> {
  const pid = (await meshPids()).get(name);
  if (pid === undefined) throw new Error(`${name} is not running in the mesh (make up)`);
  return pid;
}

/** True while a pid runs (a zombie, killed but not yet reaped by init, counts as gone). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Sends `sig` to the recorded process `name` and waits until it is gone; returns its old pid.
 * It stops the runner's supervisor first (`cli.js unsupervise`), so the process stays down until
 * the scenario calls meshUp (which starts the supervisor again); `supervised: true` leaves the
 * supervisor on, for scenarios about what it restarts.
 */
export async function stopProcess(name: string, sig: "SIGKILL" | "SIGTERM", timeoutMs = 15_000,
  opts: { supervised?: boolean } = {}): Promise<number> {
  if (!opts.supervised) await run(["unsupervise"], {}, 120_000);
  const pid = await pidOf(name);
  process.kill(pid, sig);
  const deadline = Date.now() + timeoutMs;
  while (running(pid)) {
    if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) still runs ${timeoutMs} ms after ${sig}`);
    await sleep(20);
  }
  return pid;
}

/**
 * Runs the mesh runner's `up`: restarts every recorded process that is not running and waits
 * until it serves. `env` reaches the restarted processes (the payment fault knobs); the replica
 * count is kept as it is now, and jest's NODE_OPTIONS never leak into the services.
 */
export async function meshUp(env: Record<string, string> = {}): Promise<void> {
  await run(["up"], env, 120_000);
}

/** `cli.js restart <service>`: a rolling restart, one replica at a time, drained from the edge first. */
export async function meshRestart(service: string): Promise<string> {
  return run(["restart", service], {}, 120_000);
}

/** The environment `up` must see to keep today's replica counts (catalog-2 → REPLICAS_catalog=2). */
async function replicaEnv(): Promise<Record<string, string>> {
  const names = [...(await meshPids()).keys()];
  const out: Record<string, string> = {};
  for (const n of names) {
    const m = /^([a-z]+)-(\d)$/.exec(n);
    if (m) out[`REPLICAS_${m[1]}`] = String(Math.max(Number(m[2]), Number(out[`REPLICAS_${m[1]}`] ?? 1)));
  }
  return out;
}

// Replica counts are read once: a test may have stopped a replica before it calls `up`.
let replicas: Promise<Record<string, string>> | undefined;

/** Reads the replica counts while the whole mesh runs; call it in beforeAll of every chaos file. */
export function rememberReplicas(): Promise<Record<string, string>> {
  replicas ??= replicaEnv();
  return replicas;
}

async function run(args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.NODE_OPTIONS;
  // Fault knobs are only ever passed explicitly: a stale one in our own environment must not leak.
  for (const k of Object.keys(base)) if (/^(PAYMENT_FAULT_|MESH_FAULT_|REPLICAS_)/.test(k)) delete base[k];
  const rep = args[0] === "up" ? await rememberReplicas() : {};
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, env: { ...base, ...rep, ...env }, timeout: timeoutMs, encoding: "utf8" },
      (err, stdout, stderr) => (err ? reject(new Error(`cli ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
  });
}

// The scenarios import sleep from here with the other controls; it is the runtime's.
export { sleep };

/** Polls `check` every `everyMs` until it is true; returns the ms it took, or throws after timeoutMs. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Reads one gauge from a service's /metrics (e.g. shop_breaker_state{target="payment"}). */
export async function metric(adminPort: number, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Cumulative bucket counts (upper bound in s → count) of one histogram series in a /metrics text. */
export type Buckets = Map<number, number>;

/** Reads the buckets of histogram `name` whose labels contain every `labels` fragment. */
export async function histogram(adminPort: number, name: string, labels: string[]): Promise<Buckets> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const out: Buckets = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}_bucket{`) || !labels.every((l) => line.includes(l))) continue;
    const le = /le="([^"]+)"/.exec(line)![1]!;
    out.set(le === "+Inf" ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

/** Calls observed between two scrapes and the bucket bound (s) under which a share q of them fell. */
export function bucketQuantile(before: Buckets, after: Buckets, q: number): { count: number; upperBoundS: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const count = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const b of bounds) {
    if ((after.get(b) ?? 0) - (before.get(b) ?? 0) >= q * count) return { count, upperBoundS: b };
  }
  return { count, upperBoundS: Infinity };
}

/** The environment a running process was started with (/proc/<pid>/environ). */
export function processEnv(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
    const i = kv.indexOf("=");
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/**
 * Makes sure payment runs without fault knobs: restarts it when it was started with one (a
 * scenario that failed half-way), or when it is not running. For afterAll.
 */
export async function restorePayment(): Promise<void> {
  const pid = (await meshPids()).get("payment");
  if (pid !== undefined && Object.keys(processEnv(pid)).some((k) => k.startsWith("PAYMENT_FAULT_"))) {
    await stopProcess("payment", "SIGTERM");
  }
  await meshUp();
}
