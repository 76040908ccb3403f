// The nginx edge's config on disk: rendered by render/nginx.ts into .run/nginx/nginx.conf, and
// reloaded with SIGHUP when a replica leaves or rejoins during a rolling restart.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { certDir, logDir, nginxDir } from "./paths.js";
import { renderNginxConf } from "./render/nginx.js";
import type { Instance, Route } from "./routes.js";
import { signal, statFields, type Proc } from "./supervisor.js";

/** Writes .run/nginx/nginx.conf with upstreams for `instances`. */
export function writeEdgeConf(topology: Topology, routes: Route[], instances: Instance[]): void {
  writeFileSync(join(nginxDir, "nginx.conf"), renderNginxConf(topology, routes, instances,
    { certDir, runDir: nginxDir, logDir }, process.getuid?.() === 0));
}

/** How long a reload waits for the workers that knew the old upstreams to exit. */
const OLD_WORKERS_EXIT_MS = 15_000;

/**
 * Rewrites the config for `instances`, reloads the running edge, and waits (bounded) until the
 * workers that knew the old upstreams have exited, so a replica taken out is sent nothing more
 * once this returns. Waiting a fixed second was not enough: an old worker kept taking new streams
 * on a busy client connection and sent them to the replica being drained
 * (test/chaos/rolling-restart.test.ts, once in about six runs). Measured under ghz load on one
 * connection: the old workers let go of it and exit within a few seconds (a rolling restart of
 * two catalog replicas took 6 s, 4 s idle). nginx closes that connection with a few streams in
 * flight: grpc-js clients resend them (the chaos test sees no failure), grpc-go's ghz saw 10 to
 * 15 UNAVAILABLE per restart, with this wait or without it. An open server stream through the
 * edge (WatchProduct) keeps its old worker until the stream ends, so with one open a reload takes
 * the whole bound, and the replica is stopped with that worker still holding it.
 */
export async function reloadEdge(edge: Proc, topology: Topology, routes: Route[], instances: Instance[]): Promise<void> {
  writeEdgeConf(topology, routes, instances);
  const old = childPids(edge.pid);
  signal(edge, "SIGHUP");
  const until = Date.now() + OLD_WORKERS_EXIT_MS;
  let left = old;
  let fresh: number[] = [];
  do {
    await new Promise((r) => setTimeout(r, 100));
    const now = childPids(edge.pid);
    left = old.filter((pid) => now.includes(pid));
    fresh = now.filter((pid) => !old.includes(pid));
  } while ((left.length > 0 || fresh.length === 0) && Date.now() < until);
  // nginx keeps its old workers, and so the old upstreams, when it refuses the new config.
  if (fresh.length === 0) throw new Error(`edge: nginx started no worker with the new config in ${OLD_WORKERS_EXIT_MS / 1000} s; see .run/logs/edge.log`);
  if (left.length > 0) console.warn(`edge: old nginx workers ${left.join(", ")} still run ${OLD_WORKERS_EXIT_MS / 1000} s after the reload; going on`);
}

/** The pids of a process's living children, from /proc. */
function childPids(parent: number): number[] {
  return readdirSync("/proc").filter((name) => {
    if (!/^\d+$/.test(name)) return false;
    const f = statFields(Number(name)); // undefined: gone between the listing and the read
    return f !== undefined && Number(f[1]) === parent && f[0] !== "Z";
  }).map(Number);
}
