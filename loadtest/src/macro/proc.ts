// Per-process resource readings from /proc (Linux): resident memory and CPU time, for the pids the
// local mesh recorded. Reading /proc costs a few milliseconds a sample, unlike attaching a profiler.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** A process of the local mesh. */
export interface MeshProcess {
  /** Name as make up recorded it (e.g. "catalog", "edge"). */
  name: string;
  /** Its pid. */
  pid: number;
}

/** Lists the mesh's running processes (`cli.js pids`: lines "name pid"); empty when it is down. */
export function meshProcesses(root: string): MeshProcess[] {
  const out = execFileSync(process.execPath, [`${root}/runner/dist/cli.js`, "pids"], { encoding: "utf8", cwd: root });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 2 && /^\d+$/.test(f[1]!))
    .map(([name, pid]) => ({ name: name!, pid: Number(pid) }));
}

/** VmRSS of a pid in MiB, or undefined when it is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fields of /proc/<pid>/stat after the command (which may hold spaces), so index 0 is field 3
 * (state); undefined when the process is gone.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The parent pid of a pid (field 4), or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
}

/** Each pid's children now, from one pass over /proc. */
function childrenMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  return children;
}

/** A pid and its descendants (nginx's workers are children of its master), leaving out the subtrees of `skip`. */
function descendants(pid: number, children: Map<number, number[]>, skip: ReadonlySet<number> = new Set()): number[] {
  const out: number[] = [];
  for (const queue = [pid]; queue.length > 0;) {
    const p = queue.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) if (!skip.has(c)) queue.push(c);
  }
  return out;
}

/** A pid and every descendant it has now. */
export function withChildren(pid: number): number[] {
  return descendants(pid, childrenMap());
}

/**
 * RSS in MiB of each process with its descendants, leaving out the gone. A recorded process is
 * counted in its own row only: one the supervisor restarted is the supervisor's child.
 */
export function treeRssMiB(procs: readonly MeshProcess[]): Record<string, number> {
  const children = childrenMap();
  const recorded = new Set(procs.map((p) => p.pid));
  const out: Record<string, number> = {};
  for (const p of procs) {
    const own = rssMiB(p.pid);
    if (own === undefined) continue;
    const rest = descendants(p.pid, children, recorded).slice(1).map(rssMiB).reduce<number>((a, b) => a + (b ?? 0), 0);
    out[p.name] = Math.round((own + rest) * 10) / 10;
  }
  return out;
}

/** The sum of a reading's values, to one decimal. */
export function totalMiB(rss: Record<string, number | undefined>): number {
  return Math.round(Object.values(rss).reduce<number>((a, b) => a + (b ?? 0), 0) * 10) / 10;
}

/** Seconds since the youngest of the processes started (/proc/<pid>/stat field 22, in clock ticks). */
export function youngestAgeSeconds(procs: readonly MeshProcess[]): number {
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  let youngest = Infinity;
  for (const p of procs) {
    const f = statFields(p.pid);
    if (f === undefined) continue; // gone: it does not hold the measure back
    youngest = Math.min(youngest, uptime - Number(f[19]) / 100); // starttime, in ticks (USER_HZ = 100)
  }
  return youngest === Infinity ? 0 : youngest;
}

/** User plus system CPU seconds a pid has used so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : undefined; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * Samples the RSS of each process tree every intervalMs until stopped: stop() returns each one's
 * peak, and total() the peak of their sum in one sample (the mesh's peak, not a sum of peaks).
 */
export function sampleRssPeaks(procs: readonly MeshProcess[], intervalMs = 250): { stop(): Record<string, number>; total(): number } {
  const peaks: Record<string, number> = {};
  let total = 0;
  const take = () => {
    const now = treeRssMiB(procs);
    for (const [name, v] of Object.entries(now)) if (v > (peaks[name] ?? 0)) peaks[name] = v;
    total = Math.max(total, totalMiB(now));
  };
  take();
  const timer = setInterval(take, intervalMs);
  let stopped = false;
  return {
    stop() {
      if (!stopped) {
        clearInterval(timer);
        take();
        stopped = true;
      }
      return peaks;
    },
    total: () => total,
  };
}

/**
 * CPU seconds of each process tree so far (nginx's workers count in the edge's row), leaving out
 * the gone; a recorded process counts in its own row only, as in treeRssMiB. Only living
 * processes count: a measure across an nginx reload would lose what the old workers used.
 */
export function treeCpuSeconds(procs: readonly MeshProcess[]): Record<string, number> {
  const children = childrenMap();
  const recorded = new Set(procs.map((p) => p.pid));
  const out: Record<string, number> = {};
  for (const p of procs) {
    const own = cpuSeconds(p.pid);
    if (own === undefined) continue;
    const rest = descendants(p.pid, children, recorded).slice(1).map((pid) => cpuSeconds(pid) ?? 0);
    out[p.name] = Math.round(rest.reduce((a, b) => a + b, own) * 100) / 100;
  }
  return out;
}

/** Starts counting the CPU seconds of each process tree; stop() returns each one's use since the start. */
export function measureCpu(procs: readonly MeshProcess[]): { stop(): Record<string, number> } {
  const start = treeCpuSeconds(procs);
  return {
    stop() {
      const now = treeCpuSeconds(procs);
      const used: Record<string, number> = {};
      for (const p of procs) {
        const a = start[p.name];
        const b = now[p.name];
        if (a !== undefined && b !== undefined) used[p.name] = Math.round((b - a) * 100) / 100;
      }
      return used;
    },
  };
}
