// The supervisor: a daemon that restarts any recorded process of the mesh that dies, as a pod's
// restartPolicy: Always does in Kubernetes (issue 14: a crashed or killed service stayed dead
// until someone ran `make up`). `up` starts it last and `restart` after its rolling restart; `down`,
// `up` and `restart` stop it first, so it never races them for a port or for .run/mesh.json,
// which it alone writes while it runs.
//
// A restart repeats the dead process exactly: its command, working directory and environment,
// read from /proc while it ran (so fault knobs a test passed to `up` survive a crash), falling
// back to the plan's environment recorded in .run/mesh.json when it died before it was seen.
// It imports little (no runtime, no topology): it runs for as long as the mesh does. The first restart in a row is at once, the
// next after 1, 2, 4… s, at most 30 s (Kubernetes' CrashLoopBackOff starts at 10 s; a local mesh
// wants the first one back sooner); a process that served for a minute starts a new row.
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { repo } from "./paths.js";
import { alive, readState, signal, start, startHealthy, stop, writeState, type Plan, type Proc } from "./supervisor.js";

export const SUPERVISOR = "supervisor";
/** A process that served this long without dying starts a new row of restarts. */
export const STABLE_MS = 60_000;
const TICK_MS = 200;

/** The wait before the restart number `inARow` (0 = the first since it last ran stable). */
export function backoffMs(inARow: number): number {
  return inARow === 0 ? 0 : Math.min(30_000, 1000 * 2 ** (inARow - 1));
}

/** How a live process was started, from /proc: what a restart repeats. */
function snapshot(p: Proc): Pick<Plan, "env" | "cwd"> | undefined {
  try {
    const env: Record<string, string> = {};
    for (const kv of readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0")) {
      const i = kv.indexOf("=");
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return { env, cwd: readlinkSync(`/proc/${p.pid}/cwd`) };
  } catch {
    return undefined; // gone already, or not ours to read
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the supervisor until SIGTERM; then lets restarts under way finish (each bounded) and exits. */
export async function supervise(): Promise<void> {
  const procs = readState();
  const seen = new Map<string, { pid: number; how: Pick<Plan, "env" | "cwd"> }>();
  const inARow = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const busy = new Map<string, Promise<void>>();
  let stopping = false;
  process.on("SIGTERM", () => { stopping = true; });
  process.on("SIGINT", () => { stopping = true; });
  const log = (msg: string) => console.log(`${new Date().toISOString()} supervisor: ${msg}`);

  async function restart(dead: Proc): Promise<void> {
    const stable = Date.now() - (startedAt.get(dead.name) ?? 0) >= STABLE_MS;
    const n = stable ? 0 : (inARow.get(dead.name) ?? 0);
    const wait = backoffMs(n);
    log(`${dead.name} (pid ${dead.pid}) is gone; restart ${(dead.restarts ?? 0) + 1} in ${wait} ms`);
    const until = Date.now() + wait;
    while (Date.now() < until) {
      if (stopping) return;
      await sleep(Math.min(TICK_MS, until - Date.now()));
    }
    if (stopping) return;
    const how = seen.get(dead.name)?.pid === dead.pid ? seen.get(dead.name)!.how : undefined;
    const again: Plan = { name: dead.name, kind: dead.kind, port: dead.port, adminPort: dead.adminPort, command: dead.command, probe: dead.probe,
      ...(how ? { env: how.env, wholeEnv: true, cwd: how.cwd } : { env: dead.env, cwd: dead.cwd }) };
    inARow.set(dead.name, n + 1);
    startedAt.set(dead.name, Date.now());
    try {
      const proc = await startHealthy(again, procs, 60_000);
      log(`${proc.name} is serving again (pid ${proc.pid})`);
    } catch (err) {
      log(`${dead.name} did not come back: ${err instanceof Error ? err.message : String(err)}`);
      // Alive but not serving counts as dead (a failed liveness probe): the next tick restarts it.
      const stuck = procs.find((p) => p.name === dead.name);
      if (stuck && alive(stuck)) await stop(stuck);
    } finally {
      const rec = procs.find((p) => p.name === dead.name);
      if (rec) rec.restarts = (dead.restarts ?? 0) + 1;
      writeState(procs);
    }
  }

  log(`watching ${procs.filter((p) => p.kind !== "supervisor").length} processes`);
  while (!stopping) {
    for (const p of procs) {
      if (p.kind === "supervisor" || busy.has(p.name)) continue;
      if (alive(p)) {
        if (seen.get(p.name)?.pid !== p.pid) {
          const how = snapshot(p);
          if (how) seen.set(p.name, { pid: p.pid, how });
        }
        continue;
      }
      busy.set(p.name, restart(p).finally(() => busy.delete(p.name)));
    }
    await sleep(TICK_MS);
  }
  await Promise.allSettled([...busy.values()]);
  log("stopped");
}

/** The running supervisor's record, if one runs. */
export function supervisorOf(procs: Proc[]): Proc | undefined {
  return procs.find((p) => p.kind === "supervisor" && alive(p));
}

/** Starts the supervisor (detached, log in .run/logs/supervisor.log) and records it in `procs`. */
export function startSupervisor(procs: Proc[]): Proc {
  const existing = supervisorOf(procs);
  if (existing) return existing;
  // Its own entry and a small heap: it holds a few records (RSS 56 MB, against 70 MB through cli.js).
  const proc = start({ name: SUPERVISOR, kind: "supervisor", port: 0,
    command: [process.execPath, "--max-old-space-size=32", join(repo, "runner", "dist", "supervise-main.js")] });
  const others = procs.filter((p) => p.kind !== "supervisor");
  procs.splice(0, procs.length, ...others, proc);
  writeState(procs);
  return proc;
}

/**
 * Stops the supervisor, if one runs, and waits until it is gone (it first finishes the restarts
 * under way, each at most 60 s); the record keeps every other process. Returns the record as it
 * is then.
 */
export async function stopSupervisor(): Promise<Proc[]> {
  const sup = supervisorOf(readState());
  if (sup) {
    signal(sup, "SIGTERM");
    const deadline = Date.now() + 90_000;
    while (alive(sup) && Date.now() < deadline) await sleep(50);
    if (alive(sup)) signal(sup, "SIGKILL");
  }
  // Read after it stopped: its last restarts are in the record.
  const procs = readState().filter((p) => p.kind !== "supervisor");
  writeState(procs);
  return procs;
}
