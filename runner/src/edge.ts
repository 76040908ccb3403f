// The nginx edge's config on disk: rendered by render/nginx.ts into .run/nginx/nginx.conf, and
// reloaded with SIGHUP when a replica leaves or rejoins during a rolling restart.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { certDir, logDir, nginxDir } from "./paths.js";
import { renderNginxConf } from "./render/nginx.js";
import type { Instance, Route } from "./routes.js";
import { signal, type Proc } from "./supervisor.js";

/** Writes .run/nginx/nginx.conf with upstreams for `instances`. */
export function writeEdgeConf(topology: Topology, routes: Route[], instances: Instance[]): void {
  writeFileSync(join(nginxDir, "nginx.conf"), renderNginxConf(topology, routes, instances,
    { certDir, runDir: nginxDir, logDir }, process.getuid?.() === 0));
}

/** Rewrites the config for `instances` and reloads the running edge. */
export async function reloadEdge(edge: Proc, topology: Topology, routes: Route[], instances: Instance[]): Promise<void> {
  writeEdgeConf(topology, routes, instances);
  signal(edge, "SIGHUP");
  // New workers take the new upstreams at once; old ones finish the calls they hold.
  await new Promise((r) => setTimeout(r, 1000));
}
