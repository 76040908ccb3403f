// Per-process resource readings from /proc (Linux): resident memory and CPU time, for the pids the
// local mesh recorded. Reading /proc costs nothing measurable, unlike attaching a profiler.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

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

/** User plus system CPU seconds a pid has used so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/** Samples RSS of the processes every intervalMs and keeps each one's peak, until stopped. */
export function sampleRssPeaks(procs: readonly MeshProcess[], intervalMs = 250): { stop(): Record<string, number> } {
  const peaks: Record<string, number> = {};
  const take = () => {
    for (const p of procs) {
      const v = rssMiB(p.pid);
      if (v !== undefined && v > (peaks[p.name] ?? 0)) peaks[p.name] = v;
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peaks;
    },
  };
}

/** Starts counting CPU seconds per process; stop() returns each one's use since the start. */
export function measureCpu(procs: readonly MeshProcess[]): { stop(): Record<string, number> } {
  const start = new Map(procs.map((p) => [p.name, cpuSeconds(p.pid)]));
  return {
    stop() {
      const used: Record<string, number> = {};
      for (const p of procs) {
        const a = start.get(p.name);
        const b = cpuSeconds(p.pid);
        if (a !== undefined && b !== undefined) used[p.name] = Math.round((b - a) * 100) / 100;
      }
      return used;
    },
  };
}
