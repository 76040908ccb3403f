// The process supervisor of the local mesh: starts planned processes detached (logs in
// .run/logs/<name>.log), records each in .run/mesh.json with its pid and start time, waits until it
// serves, and signals only a process it recorded (same pid, same start time), never one it did not
// start. supervise.ts restarts what dies.
import { type SpawnOptions, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { probe, tcpOpen } from "./health.js";
import { logDir, repo, stateFile } from "./paths.js";

/** What a process is to the mesh; it decides the start and stop order and how it is probed. */
export type ProcKind = "store" | "control" | "proxy" | "observe" | "service" | "edge" | "supervisor";

/** How a process is probed when not as its kind says (health.ts): an HTTP URL that answers 200 when
 * ready, or gRPC health in plaintext (an app behind its sidecar in istio mode). */
export type Probe = { http: string } | { grpc: "plaintext" };

/** A process to start (plan.ts makes them from the topology). */
export interface Plan {
  name: string;
  kind: ProcKind;
  port: number;
  adminPort?: number;
  command: string[];
  env?: Record<string, string>;
  /** True when `env` is the whole environment (a restart repeats a process's own), not additions to ours. */
  wholeEnv?: boolean;
  /** Working directory; default the repo root. */
  cwd?: string;
  /** How to probe it, when not as its kind says. */
  probe?: Probe;
}

/** A process the mesh started. */
export interface Proc {
  name: string;
  kind: ProcKind;
  pid: number;
  /** What was started (for the record). */
  command: string[];
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the
   * pid, it names this very process, even after the pid is reused or the process retitles itself
   * (redis and nginx do). */
  startTime: string;
  port: number;
  adminPort?: number;
  log: string;
  /** How often supervise.ts restarted it after it died (absent: never). */
  restarts?: number;
  /** The plan's own environment (not the starter's) and working directory, for a restart. */
  env?: Record<string, string>;
  cwd?: string;
  /** How to probe it, when not as its kind says. */
  probe?: Probe;
}

/** Which mesh runs: local, or MESH=istio (istio/plan.ts). */
export type MeshKind = "local" | "istio";

/** The mode a recorded mesh runs in: istio mode has istiod. */
export function modeOf(procs: Proc[]): MeshKind | undefined {
  if (procs.length === 0) return undefined;
  return procs.some((p) => p.kind === "control") ? "istio" : "local";
}

export function readState(): Proc[] {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, "utf8")) as Proc[]) : [];
}

/** Writes the record whole or not at all (a rename), so a reader never sees half of it. */
export function writeState(procs: Proc[]): void {
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(procs, null, 2));
  renameSync(`${stateFile}.tmp`, stateFile);
}

/**
 * The fields of /proc/<pid>/stat after the command name, so index 0 is the state and 1 the
 * parent's pid; undefined when the process is gone.
 */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; the fields after its closing paren are plain.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The start time of a running pid, or undefined when it is gone (or a zombie). */
function startTimeOf(pid: number): string | undefined {
  const fields = statFields(pid);
  return fields === undefined || fields[0] === "Z" ? undefined : fields[19];
}

/** True when the recorded process still runs (same pid and same start time). */
export function alive(proc: Proc): boolean {
  return startTimeOf(proc.pid) === proc.startTime;
}

/** Who listens on a TCP port, from `ss`, for the "port taken" message. */
export function portOwner(port: number): string {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" }).trim();
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    return m ? `${m[1]} (pid ${m[2]})` : out || "an unknown process";
  } catch {
    return "an unknown process";
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} is not healthy after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts a planned process detached, its output appended to its log; does not wait. */
export function start(p: Plan): Proc {
  const log = join(logDir, `${p.name}.log`);
  const fd = openSync(log, "a");
  const options: SpawnOptions = {
    cwd: p.cwd ?? repo, detached: true, stdio: ["ignore", fd, fd],
    env: p.wholeEnv ? p.env : { ...process.env, ...p.env },
  };
  const child = spawn(p.command[0]!, p.command.slice(1), options);
  child.unref();
  closeSync(fd);
  const pid = child.pid!;
  return { name: p.name, kind: p.kind, pid, command: p.command, startTime: startTimeOf(pid) ?? "gone",
    port: p.port, adminPort: p.adminPort, log, ...(p.wholeEnv || !p.env ? {} : { env: p.env }), ...(p.cwd ? { cwd: p.cwd } : {}),
    ...(p.probe ? { probe: p.probe } : {}) };
}

/**
 * Takes our fixed ports out of the kernel's ephemeral range (ip_local_reserved_ports), so that no
 * outgoing connection of any process is given one of them: 50051-50062 lie in Linux's default
 * range (32768-60999), and a pooled Mongo connection that got 50062 kept catalog-2 from binding
 * for its whole life (seen in a CI run). Only root may write it; otherwise startHealthy's retry is
 * what remains. Binding a reserved port explicitly works as before.
 */
export function reservePorts(ports: number[]): void {
  const file = "/proc/sys/net/ipv4/ip_local_reserved_ports";
  try {
    const current = readFileSync(file, "utf8").trim();
    const reserved = (port: number) => current.split(",").filter(Boolean).some((r) => {
      const [lo, hi] = r.split("-").map(Number);
      return port >= lo! && port <= (hi ?? lo)!;
    });
    const missing = [...new Set(ports)].filter((p) => !reserved(p)).sort((a, b) => a - b);
    if (missing.length === 0) return;
    writeFileSync(file, [current, ...missing].filter(Boolean).join(","));
    console.log(`up: reserved ports ${missing.join(",")} in ip_local_reserved_ports, so no outgoing connection can take them`);
  } catch {
    // Not root, or not Linux: a port taken by a connection is retried by startHealthy.
  }
}

/**
 * Starts a planned process, records it in `procs` (replacing an earlier record of that name) and
 * waits until it serves. Our fixed ports lie in the kernel's ephemeral range (32768-60999), so an
 * outgoing connection can hold one for a moment and the bind fails with EADDRINUSE while nothing
 * listens there: then it tries again, up to three times.
 */
export async function startHealthy(p: Plan, procs: Proc[], timeoutMs: number): Promise<Proc> {
  for (let attempt = 1; ; attempt++) {
    const proc = start(p);
    const i = procs.findIndex((x) => x.name === p.name);
    // The count stays with the name, as a pod's restartCount stays with its container; so does
    // the plan's environment when a restart repeats a whole one.
    if (i >= 0 && procs[i]!.restarts) proc.restarts = procs[i]!.restarts;
    if (i >= 0 && p.wholeEnv && procs[i]!.env) proc.env = procs[i]!.env;
    procs.splice(i < 0 ? procs.length : i, i < 0 ? 0 : 1, proc);
    writeState(procs);
    try {
      await waitFor(`${proc.name} (log: .run/logs/${proc.name}.log)`,
        async () => { if (!alive(proc)) throw new Error(`${proc.name} exited:\n${lastLines(proc.log, 6)}\n(all of it: .run/logs/${proc.name}.log)`); return (await probe(proc)) === "SERVING"; },
        timeoutMs);
      return proc;
    } catch (err) {
      const tail = readFileSync(proc.log, "utf8").slice(-4000);
      if (alive(proc) || attempt >= 3 || !/address already in use|EADDRINUSE/i.test(tail) || (await tcpOpen(p.port))) throw err;
      console.log(`up: ${p.name} could not bind its port (held for a moment by a connection); starting it again`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The last lines a process logged, for a message that says why it stopped. */
function lastLines(file: string, n: number): string {
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).map((l) => `  ${l.slice(0, 400)}`).join("\n");
}

/** Signals a recorded process if it still is the one we started; gone already is fine. */
export function signal(p: Proc, sig: NodeJS.Signals): void {
  if (!alive(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Stops a recorded process with SIGTERM (SIGKILL after 15 s) and waits until it is gone. */
export async function stop(p: Proc): Promise<void> {
  signal(p, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(p)) signal(p, "SIGKILL");
}
